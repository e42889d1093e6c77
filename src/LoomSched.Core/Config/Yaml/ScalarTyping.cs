using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;

namespace LoomSched.Config.Yaml;

/// <summary>
/// Types scalars exactly as PyYAML's <c>safe_load</c> does (YAML 1.1), because Loom loads the same files with
/// PyYAML and a value must reach Loom's consumers unchanged. Hence, unlike YAML 1.2: <c>yes</c>/<c>on</c> are
/// booleans, <c>012</c> is octal, <c>1:30</c> is 90 (base 60), while <c>1e3</c> and <c>0o17</c> stay strings.
/// </summary>
internal static class ScalarTyping
{
    private const string YamlTagPrefix = "tag:yaml.org,2002:";

    /// <summary>
    /// The CLR value of a scalar: null, string, bool, long (<see cref="BigInteger"/> beyond long), double. An integer
    /// Python cannot write as text (<see cref="PythonInt"/>) is an error.
    /// </summary>
    public static bool TryResolve(ScalarNode scalar, out object? value, [NotNullWhen(false)] out string? error)
    {
        error = null;
        value = null;
        string text = scalar.Value;
        switch (scalar.Tag)
        {
            case null when scalar.IsPlain:
                return TryResolvePlain(text, out value, out error);
            case null or "!" or YamlTagPrefix + "str":
                value = text;
                return true;
            case YamlTagPrefix + "null":
                return true;
            case YamlTagPrefix + "bool":
                if (TryConstructBool(text, out bool b))
                {
                    value = Box(b);
                    return true;
                }
                error = $"is tagged !!bool but \"{text}\" is not a boolean (true/false, yes/no, on/off)";
                return false;
            case YamlTagPrefix + "int":
                if (ImplicitPatterns.IsInt(text))
                {
                    return TryConstructInt(text, out value, out error);
                }
                error = $"is tagged !!int but \"{text}\" is not an integer";
                return false;
            case YamlTagPrefix + "float":
                if (ImplicitPatterns.IsFloat(text) || ImplicitPatterns.IsInt(text))
                {
                    value = ImplicitPatterns.IsFloat(text) ? ConstructFloat(text) : ToDouble(ConstructInteger(text));
                    return true;
                }
                error = $"is tagged !!float but \"{text}\" is not a number";
                return false;
            default:
                error = UnsupportedTag(scalar.Tag);
                return false;
        }
    }

    /// <summary>The message for a tag PyYAML's safe_load cannot construct or JSON cannot carry.</summary>
    public static string UnsupportedTag(string tag)
    {
        string shown = tag.StartsWith(YamlTagPrefix, StringComparison.Ordinal) ? "!!" + tag[YamlTagPrefix.Length..] : tag;
        return $"has the tag {shown}, which is not supported: use a plain value (string, number, boolean, null, map or list)";
    }

    /// <summary>
    /// True for a plain scalar PyYAML turns into a date or datetime. loomsched keeps the text as written (JSON has
    /// no date type), so the two readers would differ: callers note it.
    /// </summary>
    public static bool IsTimestamp(ScalarNode scalar) =>
        scalar.Tag is null && scalar.IsPlain && ImplicitPatterns.IsTimestamp(scalar.Value);

    /// <summary>
    /// The text a typed key becomes in JSON, as Loom sends the dict PyYAML built (its message model's
    /// <c>model_dump(mode="json")</c>, then <c>json.dumps</c>): <c>1</c> → "1", <c>yes</c> → "true",
    /// <c>1.50</c> → "1.5", and <c>~</c> → "None" (pydantic writes a null key as Python's <c>str(None)</c>; as
    /// measured with pydantic 2.13, it writes <c>.inf</c> and <c>.nan</c> keys so too).
    /// </summary>
    public static string JsonKeyText(object? value) => value switch
    {
        null => "None",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        BigInteger n => PythonInt.Digits(n),
        double d when !double.IsFinite(d) => "None",
        double d => PythonFloat.Repr(d),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>A short phrase naming a value for messages: <c>the number 5</c>, <c>the boolean true</c>.</summary>
    public static string DescribeValue(object? value) => value switch
    {
        null => "null",
        string s => $"the string \"{s}\"",
        bool b => b ? "the boolean true" : "the boolean false",
        long l => $"the number {l.ToString(CultureInfo.InvariantCulture)}",
        BigInteger n => $"the number {PythonInt.Digits(n)}",
        double d => $"the number {PythonFloat.Repr(d)}",
        _ => "a value",
    };

    private static bool TryResolvePlain(string text, out object? value, out string? error)
    {
        error = null;
        value = null;
        if (text.Length == 0 || text is "~" or "null" or "Null" or "NULL")
        {
            return true;
        }
        switch (text)
        {
            case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON":
                value = BoxedTrue;
                return true;
            case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF":
                value = BoxedFalse;
                return true;
            case "=":
                // PyYAML resolves a plain "=" to tag:yaml.org,2002:value, which safe_load cannot construct: Loom
                // would fail to load the file.
                error = "is a plain \"=\", which PyYAML (Loom) cannot load; quote it: \"=\"";
                return false;
        }
        // PyYAML tries the float pattern before the int pattern (ImplicitPatterns); they never both match.
        if (ImplicitPatterns.IsFloat(text))
        {
            value = ConstructFloat(text);
            return true;
        }
        if (ImplicitPatterns.IsInt(text))
        {
            return TryConstructInt(text, out value, out error);
        }
        value = text;
        return true;
    }

    private static bool TryConstructBool(string text, out bool value)
    {
        switch (text.ToLowerInvariant())
        {
            case "yes" or "true" or "on":
                value = true;
                return true;
            case "no" or "false" or "off":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    // A long, or a BigInteger beyond long: both are written as their exact digits, as Python writes an int.
    private static bool TryConstructInt(string text, out object? value, [NotNullWhen(false)] out string? error)
    {
        BigInteger n = ConstructInteger(text);
        error = null;
        value = null;
        if (n >= long.MinValue && n <= long.MaxValue)
        {
            value = Box((long)n);
            return true;
        }
        if (PythonInt.HasText(n))
        {
            value = n;
            return true;
        }
        error = "is " + PythonInt.TooLong;
        return false;
    }

    // Through long where it fits, rounding as before; beyond double's range, infinity, as Python's float() gives.
    private static double ToDouble(BigInteger n) => n >= long.MinValue && n <= long.MaxValue ? (long)n : (double)n;

    // SafeConstructor.construct_yaml_int; a magnitude past PythonInt.Limit is read as the limit (see ParseDigits).
    private static BigInteger ConstructInteger(string text)
    {
        string v = text.Replace("_", "", StringComparison.Ordinal);
        bool negative = v[0] == '-';
        if (v[0] is '+' or '-')
        {
            v = v[1..];
        }
        BigInteger magnitude;
        if (v == "0")
        {
            magnitude = BigInteger.Zero;
        }
        else if (v.StartsWith("0b", StringComparison.Ordinal))
        {
            magnitude = ParseDigits(v.AsSpan(2), 2);
        }
        else if (v.StartsWith("0x", StringComparison.Ordinal))
        {
            magnitude = ParseDigits(v.AsSpan(2), 16);
        }
        else if (v[0] == '0')
        {
            magnitude = ParseDigits(v.AsSpan(1), 8);
        }
        else if (v.Contains(':', StringComparison.Ordinal))
        {
            magnitude = BigInteger.Zero;
            foreach (string part in v.Split(':'))
            {
                magnitude = BigInteger.Min((magnitude * 60) + ParseDigits(part, 10), PythonInt.Limit);
            }
        }
        else
        {
            magnitude = ParseDigits(v, 10);
        }
        return negative ? -magnitude : magnitude;
    }

    // Values are boxed once each for the commonest: a config repeats its booleans and small numbers many times.
    private static readonly object BoxedTrue = true, BoxedFalse = false;
    private static readonly object[] SmallInts = [.. Enumerable.Range(0, 256).Select(i => (object)(long)i)];

    private static object Box(bool b) => b ? BoxedTrue : BoxedFalse;

    private static object Box(long l) => l is >= 0 and < 256 ? SmallInts[l] : l;

    private static BigInteger ParseDigits(ReadOnlySpan<char> digits, int radix)
    {
        var result = BigInteger.Zero;
        foreach (char c in digits)
        {
            int d = c <= '9' ? c - '0' : (char.ToLowerInvariant(c) - 'a') + 10;
            result = (result * radix) + d;
            if (result >= PythonInt.Limit)
            {
                // Past the limit the value is refused (or, tagged !!float, infinity) whatever digits follow: stop
                // here, or a million-digit number would take minutes (each step costs as much as the number is long).
                return PythonInt.Limit;
            }
        }
        return result;
    }

    // SafeConstructor.construct_yaml_float.
    private static double ConstructFloat(string text)
    {
        string v = text.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        double sign = 1;
        if (v[0] == '-')
        {
            sign = -1;
        }
        if (v[0] is '+' or '-')
        {
            v = v[1..];
        }
        if (v == ".inf")
        {
            return sign * double.PositiveInfinity;
        }
        if (v == ".nan")
        {
            return double.NaN;
        }
        if (v.Contains(':', StringComparison.Ordinal))
        {
            double total = 0;
            foreach (string part in v.Split(':'))
            {
                total = (total * 60) + double.Parse(part, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
            return sign * total;
        }
        return sign * double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
