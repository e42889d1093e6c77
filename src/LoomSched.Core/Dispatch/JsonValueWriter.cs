using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoomSched.Dispatch;

/// <summary>
/// Writes the JSON-compatible values of free-form maps without reflection: null, string, bool, integers,
/// finite floating point, decimal, <see cref="Guid"/>, <see cref="DateTimeOffset"/>/<see cref="DateTime"/>
/// (as Loom timestamps), System.Text.Json nodes and elements, string-keyed maps and sequences.
/// Anything else is refused with <see cref="UnserializableValueException"/>, before any message is sent.
/// </summary>
public static class JsonValueWriter
{
    /// <summary>How deep maps and lists may nest.</summary>
    public const int MaxDepth = 64;

    /// <summary>Writes one value.</summary>
    /// <exception cref="UnserializableValueException">The value (or one inside it) has no JSON form.</exception>
    public static void Write(Utf8JsonWriter writer, object? value) => Write(writer, value, 0);

    private static void Write(Utf8JsonWriter writer, object? value, int depth)
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
            case double d: WriteFinite(writer, d); break;
            case float f: WriteFinite(writer, f); break;
            case decimal m: writer.WriteNumberValue(m); break;
            case short or sbyte or byte or ushort or uint: writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
            case ulong ul: writer.WriteNumberValue(ul); break;
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
                    Write(writer, v, depth + 1);
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
                    Write(writer, entry.Value, depth + 1);
                }
                writer.WriteEndObject();
                break;
            case IEnumerable sequence:
                writer.WriteStartArray();
                foreach (var item in sequence)
                {
                    Write(writer, item, depth + 1);
                }
                writer.WriteEndArray();
                break;
            default:
                throw new UnserializableValueException($"a value of type {value.GetType().Name} has no JSON form; use strings, numbers, booleans, maps or lists");
        }
    }

    private static void WriteFinite(Utf8JsonWriter writer, double d)
    {
        if (!double.IsFinite(d))
        {
            throw new UnserializableValueException($"the number {d.ToString(CultureInfo.InvariantCulture)} has no JSON form");
        }
        // Python writes a float that happens to be whole as "1.0"; Loom's consumers then read a float, not an int.
        string text = d.ToString("R", CultureInfo.InvariantCulture);
        if (text.AsSpan().IndexOfAny('.', 'E', 'e') < 0)
        {
            writer.WriteRawValue(text + ".0", skipInputValidation: true);
        }
        else
        {
            writer.WriteNumberValue(d);
        }
    }
}
