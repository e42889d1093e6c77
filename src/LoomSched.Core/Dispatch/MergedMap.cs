using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoomSched.Dispatch;

/// <summary>
/// A config map with an expansion map merged over it, shallowly, as Python's <c>{**base, **overlay}</c>:
/// base keys keep their place (taking the overlay's value when it has the key), overlay-only keys follow
/// in the overlay's order. Written straight to JSON, never materialised as a new dictionary.
/// </summary>
[JsonConverter(typeof(MergedMapConverter))]
public sealed class MergedMap
{
    private readonly KeyValuePair<string, object?>[] _overlay;

    /// <summary>Creates the merge. A key repeated in the overlay keeps its first place and its last value.</summary>
    public MergedMap(IReadOnlyDictionary<string, object?> @base, IEnumerable<KeyValuePair<string, object?>>? overlay)
    {
        Base = @base;
        _overlay = overlay is null ? [] : Dedupe(overlay);
    }

    /// <summary>The config's map.</summary>
    public IReadOnlyDictionary<string, object?> Base { get; }

    /// <summary>The expansion's map, one entry per key (empty when the schedule does not expand).</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Overlay => _overlay;

    internal void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (key, value) in Base)
        {
            writer.WritePropertyName(key);
            JsonValueWriter.Write(writer, IndexOf(_overlay, key) is var i and >= 0 ? _overlay[i].Value : value);
        }
        foreach (var (key, value) in _overlay)
        {
            if (!Base.ContainsKey(key))
            {
                writer.WritePropertyName(key);
                JsonValueWriter.Write(writer, value);
            }
        }
        writer.WriteEndObject();
    }

    private static KeyValuePair<string, object?>[] Dedupe(IEnumerable<KeyValuePair<string, object?>> overlay)
    {
        var list = new List<KeyValuePair<string, object?>>();
        foreach (var pair in overlay)
        {
            ArgumentNullException.ThrowIfNull(pair.Key, "expansion map key");
            int at = IndexOf(list, pair.Key);
            if (at >= 0)
            {
                list[at] = pair;
            }
            else
            {
                list.Add(pair);
            }
        }
        return [.. list];
    }

    // Expansion maps are small (a handful of keys): a scan beats hashing.
    private static int IndexOf(IReadOnlyList<KeyValuePair<string, object?>> pairs, string key)
    {
        for (int i = 0; i < pairs.Count; i++)
        {
            if (string.Equals(pairs[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }
}

/// <summary>Writes a <see cref="MergedMap"/>; reading is not supported (the scheduler only writes messages).</summary>
public sealed class MergedMapConverter : JsonConverter<MergedMap>
{
    /// <inheritdoc />
    public override MergedMap Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("loomsched writes Loom messages; it does not read them.");

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, MergedMap value, JsonSerializerOptions options) => value.Write(writer);
}
