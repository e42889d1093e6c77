using System.Text;
using System.Text.RegularExpressions;

namespace LoomSched.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a seed text (a config file or a control request), as a fuzz of the published binary found the
/// bugs of issue #20: bytes and lines flipped, deleted or doubled, values swapped between keys, control characters,
/// huge and tiny numbers, brackets left open, deep nesting, unicode. The same seed gives the same cases, on any machine.
/// </summary>
public sealed partial class Mutator(int seed)
{
    private readonly Random _random = new(seed);

    /// <summary>Values that sit at or beyond some bound: numbers (tiny, huge, signed zero, not-a-number), YAML's specials.</summary>
    private static readonly string[] Values =
    [
        "1e-9", "1.0e-9", "0.0000001", "0.0005", "0.001", "0.0010000001", "3e11", "3.0e+11", "3155760000", "3155760000.5",
        "3155760001", "922337203685.4775807", "1.0e+308", "1.0e+400", "-1", "-0", "-0.0", "0", "0.0", ".nan", "NaN", ".inf",
        "-.inf", "+.inf", "0x7fffffffffffffff", "0o17", "017", "1_000", "1:30", "190:20:30", "99999999999999999999999",
        "true", "yes", "off", "null", "~", "\"\"", "''", "[]", "{}", "\"a\\nb\"", "\"\\e[2J\"", "\"tab\\there\"",
        "\"\\u202eevil\"", "'quoted'", "\"0 * * * *\"", "\"61 * * * *\"", "\"* * * * * * *\"", "\"@reboot\"", "\"0 0 30 2 *\"",
        "\"*/0 * * * *\"", "Europe/Berlin", "europe/berlin", "Mars/Olympus", "task", "goal", "high", "frontier", "&a x", "*a",
        "*undefined", "!!python/object:os.system", "!!binary aGk=", "!custom x", "|\n  block", ">-\n  folded",
    ];

    /// <summary>Characters a user should never see raw in a message, and other hard characters.</summary>
    private static readonly string[] Characters =
    [
        "\0", "\t", "\r", "\n", "\u0007", "\u001b", "\u001b[31m", "\u007f", "\u0085", "\u2028", "\u2029", "\u202e", "\u2066",
        "\u200f", "\ufeff", "\ufffd", "\u0301", "é", "東京", "🙂", "\ud83d", "\"", "'", "\\", "#", ":", ": ", "- ", "? ",
        "&", "*", "!", "|", ">", "%", "@", "`", ",", "---\n", "...\n", "<<: ", "\\n", "\\u0000", "\\x1b",
    ];

    /// <summary>How many mutations the last <see cref="Mutate"/> applied, and which: for a failure's report.</summary>
    public List<string> Applied { get; } = [];

    /// <summary>One case: the seed with one to four mutations applied, as bytes (a mutation may break the UTF-8).</summary>
    public byte[] Mutate(string seedText)
    {
        Applied.Clear();
        string text = seedText;
        int count = 1 + _random.Next(4);
        for (int i = 0; i < count; i++)
        {
            text = MutateText(text);
        }
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > 0 && _random.Next(8) == 0)
        {
            bytes = MutateBytes(bytes);
        }
        return bytes;
    }

    /// <summary>A number in [0, max): for a caller's own choices with the same seed.</summary>
    public int Next(int max) => _random.Next(max);

    private string MutateText(string text)
    {
        var lines = text.Split('\n').ToList();
        int op = _random.Next(14);
        Applied.Add(op switch
        {
            0 => "delete a line",
            1 => "duplicate a line",
            2 => "swap two lines",
            3 => "swap the values of two keys",
            4 => "replace a value",
            5 => "insert a character",
            6 => "insert a bracket",
            7 => "delete a bracket or quote",
            8 => "nest deeply",
            9 => "truncate",
            10 => "duplicate a slice",
            11 => "change a line's indentation",
            12 => "insert a line",
            _ => "replace a character",
        });
        switch (op)
        {
            case 0 when lines.Count > 1:
                lines.RemoveAt(_random.Next(lines.Count));
                return string.Join('\n', lines);
            case 1:
            {
                int at = _random.Next(lines.Count);
                lines.Insert(at, lines[at]);
                return string.Join('\n', lines);
            }
            case 2 when lines.Count > 1:
            {
                int a = _random.Next(lines.Count), b = _random.Next(lines.Count);
                (lines[a], lines[b]) = (lines[b], lines[a]);
                return string.Join('\n', lines);
            }
            case 3:
                return SwapValues(text);
            case 4:
                return ReplaceValue(text, Pick(Values));
            case 5:
                return Insert(text, Pick(Characters));
            case 6:
                return Insert(text, Pick(["{", "[", "}", "]", "{ ", "[[", "]]", "{a: ", "\"", "'"]));
            case 7:
                return DeleteOne(text, "{}[]\"'");
            case 8:
            {
                int depth = 10 + _random.Next(90);
                string nested = _random.Next(2) == 0
                    ? new string('[', depth) + "1" + new string(']', _random.Next(3) == 0 ? depth - 1 : depth)
                    : string.Concat(Enumerable.Repeat("{a: ", depth)) + "1" + new string('}', depth);
                return ReplaceValue(text, nested);
            }
            case 9 when text.Length > 0:
                return text[.._random.Next(text.Length)];
            case 10 when text.Length > 0:
            {
                int start = _random.Next(text.Length);
                int length = Math.Min(text.Length - start, 1 + _random.Next(40));
                return Insert(text, text.Substring(start, length));
            }
            case 11:
            {
                int at = _random.Next(lines.Count);
                lines[at] = _random.Next(3) switch
                {
                    0 => lines[at].TrimStart(),
                    1 => "  " + lines[at],
                    _ => "\t" + lines[at].TrimStart(),
                };
                return string.Join('\n', lines);
            }
            case 12:
                lines.Insert(_random.Next(lines.Count + 1), Pick(
                [
                    "extra: 1", "  - name: dup", "schedules: []", "name: again", "<<: *a", "? complex", "--- ", "%YAML 1.1",
                    "  interval_seconds: 1e-9", "    cron: \"0 * * * *\"", "# comment", "a: {b: 1", "\"quoted\nkey\": 1",
                ]));
                return string.Join('\n', lines);
            default:
                return text.Length == 0 ? Pick(Characters) : ReplaceAt(text, _random.Next(text.Length), Pick(Characters));
        }
    }

    private byte[] MutateBytes(byte[] bytes)
    {
        var list = bytes.ToList();
        int at = _random.Next(list.Count);
        switch (_random.Next(3))
        {
            case 0:
                list[at] ^= (byte)(1 << _random.Next(8));
                Applied.Add("flip a bit");
                break;
            case 1:
                list.Insert(at, Pick<byte>([0xFF, 0xC0, 0x80, 0xED, 0xF5, 0xE2]));
                Applied.Add("insert a byte that is not UTF-8");
                break;
            default:
                list.RemoveAt(at);
                Applied.Add("delete a byte");
                break;
        }
        return [.. list];
    }

    private string SwapValues(string text)
    {
        var matches = KeyValue().Matches(text);
        if (matches.Count < 2)
        {
            return ReplaceValue(text, Pick(Values));
        }
        var a = matches[_random.Next(matches.Count)].Groups["value"];
        var b = matches[_random.Next(matches.Count)].Groups["value"];
        if (a.Index == b.Index)
        {
            return text;
        }
        var (first, second) = a.Index < b.Index ? (a, b) : (b, a);
        return text[..first.Index] + second.Value + text[(first.Index + first.Length)..second.Index] + first.Value
            + text[(second.Index + second.Length)..];
    }

    private string ReplaceValue(string text, string value)
    {
        var matches = KeyValue().Matches(text);
        if (matches.Count == 0)
        {
            return Insert(text, value);
        }
        var group = matches[_random.Next(matches.Count)].Groups["value"];
        return string.Concat(text.AsSpan(0, group.Index), value, text.AsSpan(group.Index + group.Length));
    }

    private string Insert(string text, string what)
    {
        int at = _random.Next(text.Length + 1);
        return string.Concat(text.AsSpan(0, at), what, text.AsSpan(at));
    }

    private string ReplaceAt(string text, int at, string what) => string.Concat(text.AsSpan(0, at), what, text.AsSpan(at + 1));

    private string DeleteOne(string text, string characters)
    {
        var positions = Enumerable.Range(0, text.Length).Where(i => characters.Contains(text[i], StringComparison.Ordinal)).ToList();
        return positions.Count == 0 ? text : text.Remove(positions[_random.Next(positions.Count)], 1);
    }

    private T Pick<T>(T[] items) => items[_random.Next(items.Length)];

    // A key and its value: YAML (key: value) or JSON ("key": value), on one line.
    [GeneratedRegex(@"(?<key>""?[A-Za-z_][\w.-]*""?)\s*:\s*(?<value>""[^""\n]*""|[^,\s{}\[\]\n#][^,{}\[\]\n#]*)")]
    private static partial Regex KeyValue();
}
