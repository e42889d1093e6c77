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
        return $"at {Place(json, at)} ({reason})";
    }

    /// <summary>
    /// Where a string of <paramref name="json"/> escapes half a UTF-16 surrogate pair without the other (<c>\ud800</c>
    /// alone), which no string can hold, described as <see cref="Describe"/> does; null when none does, or when the JSON
    /// is not valid (<see cref="Describe"/> says so).
    /// </summary>
    public static string? LoneSurrogate(ReadOnlySpan<byte> json, int maxDepth)
    {
        if (json.IndexOf("\\u"u8) < 0)
        {
            return null;
        }
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped
                    && LoneEscapeIn(reader.ValueSpan) is int offset)
                {
                    // The value starts one byte after the token's opening quote.
                    int at = (int)reader.TokenStartIndex + 1 + offset;
                    string escape = Encoding.ASCII.GetString(json.Slice(at, 6));
                    return $"at {Place(json, at)} ({escape} is half of a UTF-16 surrogate pair, without the other half; "
                        + "write a character beyond U+FFFF as both halves, or as UTF-8)";
                }
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    // The offset of the first \uD800–\uDFFF escape in an escaped string's bytes that is not a high half followed by a low.
    private static int? LoneEscapeIn(ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] != (byte)'\\')
            {
                continue;
            }
            if (value[i + 1] != (byte)'u')
            {
                i++;
                continue;
            }
            int unit = HexUnit(value.Slice(i + 2, 4));
            if (unit is >= 0xD800 and <= 0xDBFF && i + 12 <= value.Length && value[i + 6] == (byte)'\\' && value[i + 7] == (byte)'u'
                && HexUnit(value.Slice(i + 8, 4)) is >= 0xDC00 and <= 0xDFFF)
            {
                i += 11;
            }
            else if (unit is >= 0xD800 and <= 0xDFFF)
            {
                return i;
            }
            else
            {
                i += 5;
            }
        }
        return null;
    }

    private static int HexUnit(ReadOnlySpan<byte> hex) =>
        int.Parse(hex, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);

    // "line L, column C" of byte `at`, both 1-based, the column counted in characters.
    private static string Place(ReadOnlySpan<byte> json, int at)
    {
        int line = 1, column = 1;
        for (int i = 0; i < at; i++)
        {
            if (json[i] == (byte)'\n')
            {
                line++;
                column = 1;
            }
            else if ((json[i] & 0xC0) != 0x80)
            {
                column++;
            }
        }
        return $"line {line}, column {column}";
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
