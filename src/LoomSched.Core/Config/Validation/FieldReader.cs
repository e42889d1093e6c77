using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using LoomSched.Config.Yaml;

namespace LoomSched.Config.Validation;

/// <summary>Reads typed values of strict keys; each wrong value is reported at the value with what is wanted.</summary>
internal sealed class FieldReader(Diagnostics diagnostics)
{
    private readonly FreeformConverter _freeform = new(diagnostics);

    public Diagnostics Diagnostics { get; } = diagnostics;

    /// <summary>The typed value of a scalar; anything else (a map, a list, an unresolvable scalar) is reported.</summary>
    private bool TryScalar(YamlNode node, string path, string expected, [NotNullWhen(true)] out ScalarNode? scalar, out object? value)
    {
        scalar = node as ScalarNode;
        value = null;
        if (scalar is null)
        {
            Diagnostics.Error(node, path, $"must be {expected}, got {Actual(node)}");
            return false;
        }
        if (Resolve(scalar, path) is not (true, var resolved))
        {
            return false;
        }
        value = resolved;
        return true;
    }

    /// <summary>A string value; numbers, booleans and null are refused as PyYAML would not hand Loom a string.</summary>
    public string? String(YamlNode node, string path, string expected)
    {
        if (!TryScalar(node, path, expected, out var scalar, out var value))
        {
            return null;
        }
        switch (value)
        {
            case string s:
                return s;
            case bool:
                Diagnostics.Error(node, path, $"must be {expected}, got \"{scalar.Value}\", which YAML 1.1 reads as a boolean; put it in quotes");
                return null;
            case long or double or BigInteger:
                Diagnostics.Error(node, path, $"must be {expected}, got \"{scalar.Value}\", which YAML reads as a number; put it in quotes");
                return null;
            default:
                Diagnostics.Error(node, path, $"must be {expected}, got {Shown(scalar, value)}");
                return null;
        }
    }

    /// <summary>A string that is not empty or only white space.</summary>
    public string? NonBlank(YamlNode node, string path, string expected)
    {
        string? s = String(node, path, expected);
        if (s is not null && string.IsNullOrWhiteSpace(s))
        {
            Diagnostics.Error(node, path, $"must not be blank; write {expected}");
            return null;
        }
        return s;
    }

    /// <summary>A finite number greater than 0. A quoted number is refused: YAML (and Loom) read it as text.</summary>
    public double? PositiveNumber(YamlNode node, string path, string unit)
    {
        string expected = $"a number greater than 0 ({unit})";
        if (!TryScalar(node, path, expected, out var scalar, out var value))
        {
            return null;
        }
        if (value is BigInteger big)
        {
            value = (double)big; // beyond long, so too large for any field: refused as the float it nears
        }
        switch (value)
        {
            case long l when l > 0:
                return l;
            case double d when double.IsFinite(d) && d > 0:
                return d;
            case double d when !double.IsFinite(d):
                Diagnostics.Error(node, path, $"must be a finite {expected[2..]}, got \"{scalar.Value}\"");
                return null;
            case long or double:
                Diagnostics.Error(node, path, $"must be {expected}, got {scalar.Value}");
                return null;
            case string s when !scalar.IsPlain && LooksNumeric(s):
                Diagnostics.Error(node, path, $"must be {expected}, not a string: write {s.Trim()} without quotes");
                return null;
            case string s when scalar.IsPlain && LooksNumeric(s):
                Diagnostics.Error(node, path, $"must be {expected}, got \"{s}\", which YAML 1.1 reads as text ({TextBecause(s)}");
                return null;
            default:
                Diagnostics.Error(node, path, $"must be {expected}, got {Shown(scalar, value)}");
                return null;
        }
    }

    /// <summary>A whole number within [min, max].</summary>
    public long? Integer(YamlNode node, string path, long min, long max, string expected)
    {
        if (!TryScalar(node, path, expected, out var scalar, out var value))
        {
            return null;
        }
        switch (value)
        {
            case long l when l >= min && l <= max:
                return l;
            case long or double or BigInteger:
                Diagnostics.Error(node, path, $"must be {expected}, got {scalar.Value}");
                return null;
            case string s when !scalar.IsPlain && LooksNumeric(s):
                Diagnostics.Error(node, path, $"must be {expected}, not a string: write {s.Trim()} without quotes");
                return null;
            default:
                Diagnostics.Error(node, path, $"must be {expected}, got {Shown(scalar, value)}");
                return null;
        }
    }

    /// <summary>One of a fixed set of lower-case words.</summary>
    public T? Choice<T>(YamlNode node, string path, string what, Choices<T> choices)
        where T : struct =>
        ChoiceIndex(node, path, what, choices.Words) is int i ? choices.Values[i] : null;

    private int? ChoiceIndex(YamlNode node, string path, string what, string[] choices)
    {
        // The list of words is spelled only for an error: this runs for every enumerated field of every schedule.
        if (node is not ScalarNode scalar)
        {
            Diagnostics.Error(node, path, $"must be one of {string.Join(", ", choices)}, got {Actual(node)}");
            return null;
        }
        if (Resolve(scalar, path) is not (true, var value))
        {
            return null;
        }
        if (value is not string s)
        {
            Diagnostics.Error(node, path, $"must be one of {string.Join(", ", choices)}, got {Shown(scalar, value)}");
            return null;
        }
        int index = Array.IndexOf(choices, s);
        if (index >= 0)
        {
            return index;
        }
        string hint = DidYouMean.Hint(s, choices);
        Diagnostics.Error(node, path, hint.Length > 0
            ? $"unknown {what} \"{s}\"{hint}"
            : $"unknown {what} \"{s}\"; expected one of {string.Join(", ", choices)}");
        return null;
    }

    /// <summary>An IANA zone id.</summary>
    public TimeZoneInfo? Zone(YamlNode node, string path)
    {
        string? id = String(node, path, "an IANA time zone id such as \"Europe/Berlin\"");
        if (id is null)
        {
            return null;
        }
        if (TimeZones.TryFind(id, out var zone))
        {
            return zone;
        }
        Diagnostics.Error(node, path, TimeZones.UnknownMessage(id));
        return null;
    }

    /// <summary>A free-form map (<c>context</c>, <c>payload</c>, <c>expand_args</c>).</summary>
    public IReadOnlyDictionary<string, object?>? FreeformMap(YamlNode node, string path)
    {
        if (node is MapNode map)
        {
            int before = Diagnostics.ErrorCount;
            var result = _freeform.ConvertMap(map, path);
            return Diagnostics.ErrorCount == before ? result : null;
        }
        Diagnostics.Error(node, path, $"must be a map of keys to values (write {{}} for none), got {Actual(node)}");
        return null;
    }

    /// <summary>How a wrong value is named in a message: <c>a list</c>, <c>"true"</c>, <c>an empty value</c>.</summary>
    public static string Actual(YamlNode node) => node switch
    {
        MapNode => "a map",
        SequenceNode => "a list",
        ScalarNode { Value.Length: 0, IsPlain: true } => "an empty value",
        ScalarNode s => $"\"{s.Value}\"",
        _ => "a value",
    };

    private static string Shown(ScalarNode scalar, object? value) =>
        value is null && scalar.Value.Length == 0 && scalar.IsPlain ? "an empty value" : $"\"{scalar.Value}\"";

    // With a digit: .NET also reads "NaN" and "Infinity", which no one writes as a number of seconds.
    // Why YAML 1.1 (so PyYAML, so Loom) reads a numeral .NET would read as text: its floats need a point and a signed
    // exponent (1e3), and a leading 0 makes an octal integer, which has no digit 8 or 9 (09).
    private static string TextBecause(string s)
    {
        if (s.Contains('e', StringComparison.OrdinalIgnoreCase))
        {
            return "an exponent needs a point and a sign, as in 1.0e+3); write it as a plain number";
        }
        string digits = s.TrimStart('+', '-');
        string plain = s[..(s.Length - digits.Length)] + (digits.TrimStart('0') is { Length: > 0 } rest ? rest : "0");
        return $"a leading 0 makes an octal number, which has no digit 8 or 9); write {plain}";
    }

    private static bool LooksNumeric(string s) =>
        s.AsSpan().ContainsAnyInRange('0', '9') && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private (bool Ok, object? Value) Resolve(ScalarNode scalar, string path)
    {
        if (ScalarTyping.TryResolve(scalar, out object? value, out string? error))
        {
            return (true, value);
        }
        Diagnostics.Error(scalar, path, $"this value {error}");
        return (false, null);
    }
}
