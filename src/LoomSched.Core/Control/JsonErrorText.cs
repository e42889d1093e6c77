using System.Text;
using System.Text.Json;

namespace LoomSched.Control;

/// <summary>
/// Where a JSON text stops being valid, and why, in plain words, for what follows "is not valid JSON": e.g.
/// <c>at line 1, column 2 (unexpected 'n'; text goes in double quotes)</c>. A <see cref="JsonException"/>'s message is
/// never shown: in the published binary (UseSystemResourceKeys) it is a bare resource key with a 0-based position.
/// This reads the position the exception carries and looks at the text there; line and column are 1-based, the column
/// counted in characters.
/// </summary>
internal static class JsonErrorText
{
    /// <summary>Describes <paramref name="error"/>, thrown while <paramref name="json"/> was parsed with <paramref name="maxDepth"/>.</summary>
    public static string Describe(ReadOnlySpan<byte> json, JsonException error, int maxDepth)
    {
        if (IsBlank(json))
        {
            return "(it is empty)";
        }
        long line = error.LineNumber ?? 0;
        int lineStart = 0;
        for (int i = 0; i < json.Length && line > 0; i++)
        {
            if (json[i] == (byte)'\n')
            {
                line--;
                lineStart = i + 1;
            }
        }
        int at = (int)Math.Min(json.Length, lineStart + (error.BytePositionInLine ?? 0));
        string reason;
        if (at >= json.Length)
        {
            reason = "it ends before the JSON is complete";
        }
        else if (json[at] is (byte)'[' or (byte)'{' && DepthAt(json, at) >= maxDepth)
        {
            reason = $"nested deeper than {maxDepth} levels";
        }
        else if (json[at] < 0x20)
        {
            reason = $"a raw control character (U+{(int)json[at]:X4}) inside text; write it escaped";
        }
        else if (IsLetter(json[at]) || (at > lineStart && IsLetter(json[at - 1])))
        {
            // A bare word (not json, {name: 1}, tru): shown whole, from its first letter.
            while (at > lineStart && IsLetter(json[at - 1]))
            {
                at--;
            }
            int end = at;
            while (end < json.Length && end - at < 24 && (IsLetter(json[end]) || json[end] is (>= (byte)'0' and <= (byte)'9') or (byte)'_'))
            {
                end++;
            }
            string word = Encoding.UTF8.GetString(json[at..end]);
            // true, false, null or a start of one (tru) is no text that lacks its quotes.
            bool literal = word.Length > 1 && ("true".StartsWith(word, StringComparison.Ordinal)
                || "false".StartsWith(word, StringComparison.Ordinal) || "null".StartsWith(word, StringComparison.Ordinal));
            reason = literal || (at > 0 && json[at - 1] == (byte)'\\')
                ? $"unexpected '{word}'"
                : $"unexpected '{word}'; text goes in double quotes";
        }
        else
        {
            reason = json[at] switch
            {
                (byte)'\'' => "a single quote; JSON takes double quotes",
                (byte)'/' => "JSON has no comments",
                (byte)'}' or (byte)']' when PreviousNonSpace(json, at) == (byte)',' => $"a comma before '{(char)json[at]}'",
                _ => Unexpected(json[at..]),
            };
        }
        int column = 1;
        for (int i = lineStart; i < at; i++)
        {
            if ((json[i] & 0xC0) != 0x80)
            {
                column++;
            }
        }
        return $"at line {(error.LineNumber ?? 0) + 1}, column {column} ({reason})";
    }

    private static string Unexpected(ReadOnlySpan<byte> rest) =>
        Rune.DecodeFromUtf8(rest, out var rune, out _) == System.Buffers.OperationStatus.Done
            ? $"unexpected '{rune.ToString()}'"
            : $"byte 0x{(int)rest[0]:X2} is not UTF-8";

    private static bool IsLetter(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a';

    private static bool IsBlank(ReadOnlySpan<byte> json) => json.TrimStart(" \t\r\n"u8).IsEmpty;

    private static int PreviousNonSpace(ReadOnlySpan<byte> json, int at)
    {
        var before = json[..at].TrimEnd(" \t\r\n"u8);
        return before.IsEmpty ? -1 : before[^1];
    }

    // How many arrays and objects are open before `at`, outside strings.
    private static int DepthAt(ReadOnlySpan<byte> json, int at)
    {
        int depth = 0;
        bool inText = false;
        for (int i = 0; i < at; i++)
        {
            byte b = json[i];
            if (inText)
            {
                if (b == (byte)'\\')
                {
                    i++;
                }
                else if (b == (byte)'"')
                {
                    inText = false;
                }
            }
            else if (b == (byte)'"')
            {
                inText = true;
            }
            else if (b is (byte)'[' or (byte)'{')
            {
                depth++;
            }
            else if (b is (byte)']' or (byte)'}')
            {
                depth--;
            }
        }
        return depth;
    }
}
