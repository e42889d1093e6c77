using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LoomSched.Config;

/// <summary>
/// JSON for people as much as for tools (a terminal, the journal, a stored entry), not for a web page: a quote reads
/// <c>\"</c> and an offset <c>+01:00</c>, not <c>\u0022</c> and <c>\u002B01:00</c>. What <see cref="UserText.Escape"/>
/// escapes in text (control characters, line separators, direction marks) is escaped here too.
/// </summary>
public static class ReadableJson
{
    /// <summary>One line: a log line, a stream of messages, a stored value.</summary>
    public static readonly JsonWriterOptions OneLine = new() { Encoder = TerminalSafeEncoder.Instance };

    /// <summary>Indented: a document printed for a person.</summary>
    public static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = TerminalSafeEncoder.Instance };

    /// <summary>
    /// Valid JSON text, as someone else wrote it, made safe to print on one line: its line breaks and tabs (whitespace
    /// between tokens) become spaces, and the other characters <see cref="UserText.Escape"/> escapes (which valid JSON
    /// holds only inside strings) become <c>\uXXXX</c>. The same value; <paramref name="json"/> itself when nothing changes.
    /// </summary>
    public static ReadOnlySpan<byte> OneLineRaw(ReadOnlySpan<byte> json)
    {
        int next = TerminalSafeEncoder.IndexOfUnsafeUtf8(json, out int length);
        if (next < 0)
        {
            return json;
        }
        var output = new ArrayBufferWriter<byte>(json.Length + 16);
        while (next >= 0)
        {
            output.Write(json[..next]);
            byte first = json[next];
            if (first < 0x20)
            {
                // Raw control characters are not allowed inside a JSON string: this is whitespace between tokens.
                output.Write(" "u8);
            }
            else
            {
                Rune.DecodeFromUtf8(json[next..], out var rune, out _);
                TerminalSafeEncoder.WriteEscape(output, rune.Value);
            }
            json = json[(next + length)..];
            next = TerminalSafeEncoder.IndexOfUnsafeUtf8(json, out length);
        }
        output.Write(json);
        return output.WrittenSpan;
    }
}

/// <summary>
/// System.Text.Json's relaxed encoder, which leaves direction marks (U+200E, U+202E, …) raw as the printable characters
/// it takes them for, plus every character <see cref="UserText.Escape"/> escapes, written <c>\uXXXX</c>.
/// </summary>
internal sealed class TerminalSafeEncoder : JavaScriptEncoder
{
    public static readonly TerminalSafeEncoder Instance = new();

    private static readonly JavaScriptEncoder Relaxed = UnsafeRelaxedJsonEscaping;

    // Derived from UserText, so that text and JSON escape one set: the characters, and the first bytes of their UTF-8.
    private static readonly SearchValues<char> UnsafeChars;
    private static readonly SearchValues<byte> UnsafeLeadBytes;

    static TerminalSafeEncoder()
    {
        var chars = new List<char>();
        var leads = new HashSet<byte>();
        Span<byte> utf8 = stackalloc byte[4];
        for (int c = 0; c <= 0xFFFF; c++)
        {
            if (IsUnsafe(c))
            {
                chars.Add((char)c);
                new Rune(c).EncodeToUtf8(utf8);
                leads.Add(utf8[0]);
            }
        }
        UnsafeChars = SearchValues.Create(chars.ToArray());
        UnsafeLeadBytes = SearchValues.Create(leads.ToArray());
    }

    public override int MaxOutputCharactersPerInputCharacter => Math.Max(Relaxed.MaxOutputCharactersPerInputCharacter, 6);

    public override bool WillEncode(int unicodeScalar) => IsUnsafe(unicodeScalar) || Relaxed.WillEncode(unicodeScalar);

    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        int relaxed = Relaxed.FindFirstCharacterToEncode(text, textLength);
        int own = new ReadOnlySpan<char>(text, relaxed < 0 ? textLength : relaxed).IndexOfAny(UnsafeChars);
        return own >= 0 ? own : relaxed;
    }

    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        int relaxed = Relaxed.FindFirstCharacterToEncodeUtf8(utf8Text);
        int own = IndexOfUnsafeUtf8(relaxed < 0 ? utf8Text : utf8Text[..relaxed], out _);
        return own >= 0 ? own : relaxed;
    }

    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        // What the relaxed encoder escapes keeps its form (\n, \", \u0085); only what it leaves raw is added.
        if (!IsUnsafe(unicodeScalar) || Relaxed.WillEncode(unicodeScalar))
        {
            return Relaxed.TryEncodeUnicodeScalar(unicodeScalar, buffer, bufferLength, out numberOfCharactersWritten);
        }
        if (bufferLength < 6)
        {
            numberOfCharactersWritten = 0;
            return false;
        }
        var escape = new Span<char>(buffer, 6);
        "\\u".CopyTo(escape);
        unicodeScalar.TryFormat(escape[2..], out _, "X4", System.Globalization.CultureInfo.InvariantCulture);
        numberOfCharactersWritten = 6;
        return true;
    }

    /// <summary>Writes <c>\uXXXX</c> for a character of the basic plane, as System.Text.Json spells its escapes.</summary>
    internal static void WriteEscape(IBufferWriter<byte> output, int scalar)
    {
        var escape = output.GetSpan(6);
        "\\u"u8.CopyTo(escape);
        scalar.TryFormat(escape[2..6], out _, "X4", System.Globalization.CultureInfo.InvariantCulture);
        output.Advance(6);
    }

    /// <summary>Where the first character <see cref="UserText.Escape"/> escapes starts in UTF-8 text, and its length in bytes; -1 when none.</summary>
    internal static int IndexOfUnsafeUtf8(ReadOnlySpan<byte> utf8, out int length)
    {
        int offset = 0;
        while (true)
        {
            int found = utf8[offset..].IndexOfAny(UnsafeLeadBytes);
            if (found < 0)
            {
                length = 0;
                return -1;
            }
            offset += found;
            // A lead byte shared with harmless characters (U+2014 begins as U+202E does): the whole character decides.
            if (Rune.DecodeFromUtf8(utf8[offset..], out var rune, out length) == OperationStatus.Done && IsUnsafe(rune.Value))
            {
                return offset;
            }
            offset++;
        }
    }

    // The basic plane's characters, surrogates aside (UserText judges UTF-16 units).
    private static bool IsUnsafe(int scalar) => scalar <= 0xFFFF && !char.IsSurrogate((char)scalar) && UserText.IsUnsafe((char)scalar);
}
