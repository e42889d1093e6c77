using System.Globalization;
using System.Numerics;
using System.Text.Json;
using LoomSched.Config.Yaml;

namespace LoomSched.BuiltIns;

/// <summary>
/// Converts JSON to the plain values config maps hold (null, string, bool, long, BigInteger beyond long, double, ordered
/// maps, lists), so that expansion maps merge into a goal's context or a task's payload exactly like values written in
/// the YAML. An integer Python cannot read (<see cref="PythonInt"/>) throws <see cref="OverflowException"/>.
/// Built on <see cref="JsonDocument"/>: no reflection, trim- and AOT-safe.
/// </summary>
internal static class JsonValues
{
    public static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    public static OrderedDictionary<string, object?> ToMap(JsonElement obj)
    {
        var map = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in obj.EnumerateObject())
        {
            map[property.Name] = ToValue(property.Value); // a repeated key keeps its last value, like most JSON readers
        }
        return map;
    }

    public static object? ToValue(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => ToMap(element),
        JsonValueKind.Array => element.EnumerateArray().Select(ToValue).ToList(),
        JsonValueKind.String => element.GetString(),
        // Boxed in each branch: a plain conditional would widen the whole number to double.
        JsonValueKind.Number => element.TryGetInt64(out var whole) ? (object)whole : Number(element),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    // Python's json.loads reads a number without a fraction or an exponent as an exact int, of any size it can read.
    private static object Number(JsonElement element)
    {
        string text = element.GetRawText();
        if (text.AsSpan().IndexOfAny('.', 'e', 'E') >= 0)
        {
            return element.GetDouble();
        }
        if (text.Length - (text[0] == '-' ? 1 : 0) > PythonInt.MaxDigits)
        {
            throw new OverflowException(PythonInt.TooLong);
        }
        return BigInteger.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
    }

    /// <summary>"an object", "a string", ... for messages.</summary>
    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
