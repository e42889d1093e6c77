using System.Globalization;
using System.Text;

namespace LoomSched.Config;

/// <summary>
/// User text as a message may quote it: one line of a bounded length, nothing that moves the cursor or flips the
/// direction of what follows.
/// Applied where messages leave (config diagnostics, CLI messages, control replies), so every quoted value is covered
/// whoever wrote the sentence around it. Only such characters change: a message without one is returned as it is.
/// </summary>
public static class UserText
{
    /// <summary>
    /// <paramref name="text"/> with each control character (C0, DEL, C1), line or paragraph separator and bidirectional
    /// formatting character written as an escape: <c>\n</c>, <c>\r</c>, <c>\t</c>, else <c>\uXXXX</c> (e.g. <c>\u001b</c>).
    /// </summary>
    public static string Escape(string text)
    {
        int first = IndexOfUnsafe(text);
        if (first < 0)
        {
            return text;
        }
        var sb = new StringBuilder(text.Length + 16).Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (!IsUnsafe(c))
            {
                sb.Append(c);
                continue;
            }
            _ = c switch
            {
                '\n' => sb.Append("\\n"),
                '\r' => sb.Append("\\r"),
                '\t' => sb.Append("\\t"),
                _ => sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
            };
        }
        return sb.ToString();
    }

    /// <summary>The longest text a message shows whole (a key path, a diagnostic, a schedule's last error).</summary>
    public const int LongestShown = 400;

    /// <summary>
    /// <paramref name="text"/> when it has at most <paramref name="max"/> characters; else its start and its end, with
    /// how many characters were left out between them. A value of 60,000 characters quoted in a message still makes
    /// one readable line, and a status that carries such messages still fits in a NATS message.
    /// </summary>
    public static string Elide(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }
        int head = max * 3 / 5, tail = max / 4;
        // Never between the halves of a surrogate pair.
        head -= char.IsHighSurrogate(text[head - 1]) ? 1 : 0;
        tail -= char.IsLowSurrogate(text[^tail]) ? 1 : 0;
        int left = text.Length - head - tail;
        return string.Concat(text.AsSpan(0, head), $" … ({left.ToString("N0", CultureInfo.InvariantCulture)} characters left out) … ", text.AsSpan(text.Length - tail));
    }

    /// <summary>How many of a config's or an entry's errors a reply or a status lists (the log has every one).</summary>
    public const int ErrorsListed = 20;

    /// <summary>
    /// The first <paramref name="shown"/> of <paramref name="items"/>, and then how many more when there are more: what a
    /// reply or a status lists of a config's errors (a file may have thousands; a NATS message holds about a megabyte).
    /// </summary>
    public static IReadOnlyList<string> Shortlist(IReadOnlyList<string> items, int shown) =>
        items.Count <= shown ? items : [.. items.Take(shown), $"and {(items.Count - shown).ToString("N0", CultureInfo.InvariantCulture)} more"];

    /// <summary>True when <see cref="Escape"/> would change <paramref name="text"/>.</summary>
    public static bool NeedsEscape(string text) => IndexOfUnsafe(text) >= 0;

    private static int IndexOfUnsafe(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (IsUnsafe(text[i]))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>A character <see cref="Escape"/> escapes; <see cref="ReadableJson"/> escapes the same.</summary>
    internal static bool IsUnsafe(char c) =>
        char.IsControl(c)
        || c is '\u2028' or '\u2029'                                  // line and paragraph separators
        || c is '\u200e' or '\u200f' or '\u061c'                       // directional marks
        || c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069' // embeddings, overrides, isolates
        || c is '\u200b' or '\ufeff';                                 // invisible: zero-width space, byte order mark
}
