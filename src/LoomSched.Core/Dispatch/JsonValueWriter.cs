using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoomSched.Dispatch;

/// <summary>
/// Writes the JSON-compatible values of free-form maps without reflection: null, string, bool, integers (exact at any
/// size, as Python writes them), finite floating point, decimal, <see cref="Guid"/>, <see cref="DateTimeOffset"/>/
/// <see cref="DateTime"/> (as Loom timestamps), System.Text.Json nodes and elements, string-keyed maps and sequences.
/// Anything else is refused with <see cref="UnserializableValueException"/>, before any message is sent.
/// </summary>
public static class JsonValueWriter
{
    /// <summary>How deep maps and lists may nest.</summary>
    public const int MaxDepth = 64;

    /// <summary>Writes one value.</summary>
    /// <exception cref="UnserializableValueException">The value (or one inside it) has no JSON form.</exception>
    public static void Write(Utf8JsonWriter writer, object? value) => Write(writer, value, 0, yamlFloats: false);

    /// <summary>
    /// Writes one value as <see cref="Write(Utf8JsonWriter, object?)"/> does, but each float with a fraction and a signed
    /// exponent (<c>1.0e-05</c>, where .NET writes <c>1E-05</c>): YAML 1.1 reads only that as a float, and a config
    /// entry written as JSON is read back by the YAML reader.
    /// </summary>
    /// <exception cref="UnserializableValueException">The value (or one inside it) has no JSON form.</exception>
    public static void WriteYamlReadable(Utf8JsonWriter writer, object? value) => Write(writer, value, 0, yamlFloats: true);

    private static void Write(Utf8JsonWriter writer, object? value, int depth, bool yamlFloats)
    {
        if (depth > MaxDepth)
        {
            throw new UnserializableValueException($"values nest deeper than {MaxDepth} levels");
        }
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case string s: writer.WriteStringValue(s); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case long l: writer.WriteNumberValue(l); break;
            case int i: writer.WriteNumberValue(i); break;
            case double d: WriteFinite(writer, d, yamlFloats); break;
            case float f: WriteFinite(writer, f, yamlFloats); break;
            case decimal m: writer.WriteNumberValue(m); break;
            case short or sbyte or byte or ushort or uint: writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
            case ulong ul: writer.WriteNumberValue(ul); break;
            case BigInteger n: writer.WriteRawValue(n.ToString(CultureInfo.InvariantCulture), skipInputValidation: true); break;
            case Guid g: writer.WriteStringValue(g.ToString("D")); break;
            case DateTimeOffset dto: writer.WriteStringValue(LoomTime.Format(dto)); break;
            case DateTime dt: writer.WriteStringValue(LoomTime.Format(new DateTimeOffset(dt.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(dt, DateTimeKind.Utc) : dt))); break;
            case JsonNode node: node.WriteTo(writer); break;
            case JsonElement element: element.WriteTo(writer); break;
            case IEnumerable<KeyValuePair<string, object?>> map:
                writer.WriteStartObject();
                foreach (var (k, v) in map)
                {
                    writer.WritePropertyName(k);
                    Write(writer, v, depth + 1, yamlFloats);
                }
                writer.WriteEndObject();
                break;
            case IDictionary dictionary:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (entry.Key is not string key)
                    {
                        throw new UnserializableValueException($"a map key of type {entry.Key.GetType().Name} is not a string");
                    }
                    writer.WritePropertyName(key);
                    Write(writer, entry.Value, depth + 1, yamlFloats);
                }
                writer.WriteEndObject();
                break;
            case IEnumerable sequence:
                writer.WriteStartArray();
                foreach (var item in sequence)
                {
                    Write(writer, item, depth + 1, yamlFloats);
                }
                writer.WriteEndArray();
                break;
            default:
                throw new UnserializableValueException($"a value of type {value.GetType().Name} has no JSON form; use strings, numbers, booleans, maps or lists");
        }
    }

    private static void WriteFinite(Utf8JsonWriter writer, double d, bool yamlFloats)
    {
        if (!double.IsFinite(d))
        {
            throw new UnserializableValueException($"the number {d.ToString(CultureInfo.InvariantCulture)} has no JSON form");
        }
        // Python writes a float that happens to be whole as "1.0"; Loom's consumers then read a float, not an int.
        string text = d.ToString("R", CultureInfo.InvariantCulture);
        int e = text.AsSpan().IndexOfAny('E', 'e');
        if (yamlFloats && e >= 0)
        {
            string mantissa = text[..e].Contains('.', StringComparison.Ordinal) ? text[..e] : text[..e] + ".0";
            string exponent = text[e + 1] is '+' or '-' ? text[(e + 1)..] : "+" + text[(e + 1)..];
            writer.WriteRawValue(mantissa + "e" + exponent, skipInputValidation: true);
        }
        else if (e < 0 && !text.Contains('.', StringComparison.Ordinal))
        {
            writer.WriteRawValue(text + ".0", skipInputValidation: true);
        }
        else
        {
            writer.WriteNumberValue(d);
        }
    }
}
