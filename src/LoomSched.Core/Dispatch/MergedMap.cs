using System.Buffers.Text;
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
    private readonly int _overlayCount;

    /// <summary>Creates the merge. A key repeated in the overlay keeps its first place and its last value.</summary>
    public MergedMap(IReadOnlyDictionary<string, object?> @base, IEnumerable<KeyValuePair<string, object?>>? overlay)
    {
        Base = @base;
        _overlay = overlay is null ? [] : Dedupe(overlay, out _overlayCount);
    }

    /// <summary>The config's map.</summary>
    public IReadOnlyDictionary<string, object?> Base { get; }

    /// <summary>The expansion's map, one entry per key (empty when the schedule does not expand).</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Overlay => new ArraySegment<KeyValuePair<string, object?>>(_overlay, 0, _overlayCount);

    internal void Write(Utf8JsonWriter writer) => Write(writer, Base, _overlay.AsSpan(0, _overlayCount));

    /// <summary>
    /// Writes <paramref name="overlay"/> merged over <paramref name="base"/>, without making the merge: a plain fire's
    /// message (<see cref="DirectBody"/>).
    /// </summary>
    /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
    internal static void Write(
        Utf8JsonWriter writer, IReadOnlyDictionary<string, object?> @base, IEnumerable<KeyValuePair<string, object?>>? overlay) =>
        Write(writer, @base, overlay is null ? [] : Dedupe(overlay, out int count).AsSpan(0, count));

    private static void Write(
        Utf8JsonWriter writer, IReadOnlyDictionary<string, object?> @base, ReadOnlySpan<KeyValuePair<string, object?>> overlay)
    {
        writer.WriteStartObject();
        if (@base is OrderedDictionary<string, object?> ordered)
        {
            // The config's own map type: enumerated without boxing an enumerator per message.
            foreach (var (key, value) in ordered)
            {
                writer.WritePropertyName(key);
                JsonValueWriter.Write(writer, IndexOf(overlay, key) is var i and >= 0 ? overlay[i].Value : value);
            }
        }
        else
        {
            foreach (var (key, value) in @base)
            {
                writer.WritePropertyName(key);
                JsonValueWriter.Write(writer, IndexOf(overlay, key) is var i and >= 0 ? overlay[i].Value : value);
            }
        }
        WriteOverlayOnly(writer, @base, overlay);
    }

    /// <summary>
    /// Writes <paramref name="overlay"/> merged over the encoded config map <paramref name="base"/>, without making the
    /// merge: a fan-out's message (<see cref="WireFrame"/>).
    /// </summary>
    /// <exception cref="UnserializableValueException">A value of the overlay has no JSON form.</exception>
    internal static void Write(Utf8JsonWriter writer, EncodedMap @base, IEnumerable<KeyValuePair<string, object?>>? overlay)
    {
        var pairs = overlay is null ? [] : Dedupe(overlay, out int count).AsSpan(0, count);
        writer.WriteStartObject();
        foreach (var entry in @base.Entries)
        {
            writer.WritePropertyName(entry.Name);
            if (IndexOf(pairs, entry.Key) is var i and >= 0)
            {
                JsonValueWriter.Write(writer, pairs[i].Value);
            }
            else
            {
                writer.WriteRawValue(entry.Value, skipInputValidation: true);
            }
        }
        WriteOverlayOnly(writer, @base.Map, pairs);
    }

    /// <summary>
    /// Writes <paramref name="overlay"/> merged over <paramref name="base"/> as <see cref="Write(Utf8JsonWriter, EncodedMap, IEnumerable{KeyValuePair{string, object}})"/>
    /// does, byte for byte, but straight into <paramref name="output"/>, when the overlay is an array of distinct keys
    /// whose values are null, booleans, <c>int</c>s, <c>long</c>s or text the writer would not escape (the maps of a
    /// typical fan-out: the JSON writer's own bookkeeping was most of a body's map). False, with nothing written,
    /// for any other overlay: the caller uses the writer.
    /// </summary>
    internal static bool TryWriteDirect(BodyArena output, EncodedMap @base, IEnumerable<KeyValuePair<string, object?>>? overlay)
    {
        ReadOnlySpan<KeyValuePair<string, object?>> pairs = default;
        if (overlay is not null)
        {
            if (overlay is not KeyValuePair<string, object?>[] array || array.Length > MaxDirectPairs)
            {
                return false;
            }
            pairs = array;
        }
        // Everything is checked before anything is written.
        Span<int> names = stackalloc int[pairs.Length];
        for (int i = 0; i < pairs.Length; i++)
        {
            var (key, value) = pairs[i];
            if (key is null || !IsDirect(value) || IndexOf(pairs[..i], key) >= 0 || (names[i] = @base.OverlayName(key)) < 0)
            {
                return false;
            }
        }
        output.Append("{"u8);
        bool first = true;
        foreach (var entry in @base.Entries)
        {
            if (!first)
            {
                output.Append(","u8);
            }
            first = false;
            output.Append(entry.Member);
            if (IndexOf(pairs, entry.Key) is var i and >= 0)
            {
                WriteDirect(output, pairs[i].Value);
            }
            else
            {
                output.Append(entry.Value);
            }
        }
        for (int i = 0; i < pairs.Length; i++)
        {
            var name = @base.OverlayNameAt(names[i]);
            if (name.InBase)
            {
                continue;
            }
            if (!first)
            {
                output.Append(","u8);
            }
            first = false;
            output.Append(name.Member);
            WriteDirect(output, pairs[i].Value);
        }
        output.Append("}"u8);
        return true;
    }

    private const int MaxDirectPairs = 16;

    // Values whose JSON the writer would write without escaping or choosing a form.
    private static bool IsDirect(object? value) => value switch
    {
        null or bool or int or long => true,
        string s => EncodedMap.IsPlainText(s),
        _ => false,
    };

    private static void WriteDirect(BodyArena output, object? value)
    {
        switch (value)
        {
            case null:
                output.Append("null"u8);
                break;
            case bool b:
                output.Append(b ? "true"u8 : "false"u8);
                break;
            case int n:
                Utf8Formatter.TryFormat(n, output.GetSpan(11), out int intLength);
                output.Advance(intLength);
                break;
            case long n:
                Utf8Formatter.TryFormat(n, output.GetSpan(20), out int longLength);
                output.Advance(longLength);
                break;
            case string s:
                output.AppendQuotedAscii(s); // plain (IsDirect)
                break;
            default:
                throw new InvalidOperationException($"not a direct value: {value.GetType().Name}");
        }
    }

    // The overlay's keys the config map has not, in the overlay's order; then the end of the object.
    private static void WriteOverlayOnly(Utf8JsonWriter writer, IReadOnlyDictionary<string, object?> @base, ReadOnlySpan<KeyValuePair<string, object?>> overlay)
    {
        foreach (var (key, value) in overlay)
        {
            if (!@base.ContainsKey(key))
            {
                writer.WritePropertyName(key);
                JsonValueWriter.Write(writer, value);
            }
        }
        writer.WriteEndObject();
    }

    [ThreadStatic]
    private static KeyValuePair<string, object?>[]? t_scratch;

    // One array of the overlay's size, not a list, its growth and a copy per message. Maps whose size is unknown
    // (iterators) are gathered in a per-thread scratch array first; its first `count` entries are the overlay.
    private static KeyValuePair<string, object?>[] Dedupe(IEnumerable<KeyValuePair<string, object?>> overlay, out int count)
    {
        if (overlay is KeyValuePair<string, object?>[] array && IsDistinct(array))
        {
            // Already one entry per key (the boxed form of a map, ExpansionResults): used as it is, not copied. The merge
            // is written as soon as it is made, before the map's function runs on.
            count = array.Length;
            return array;
        }
        bool sized = overlay.TryGetNonEnumeratedCount(out int known);
        var pairs = sized ? new KeyValuePair<string, object?>[known] : t_scratch ?? new KeyValuePair<string, object?>[16];
        t_scratch = null; // a map whose enumeration builds another merge on this thread gets its own scratch
        count = 0;
        try
        {
            foreach (var pair in overlay)
            {
                ArgumentNullException.ThrowIfNull(pair.Key, "expansion map key");
                int at = IndexOf(pairs.AsSpan(0, count), pair.Key);
                if (at >= 0)
                {
                    pairs[at] = pair;
                    continue;
                }
                if (count == pairs.Length)
                {
                    Array.Resize(ref pairs, Math.Max(4, count * 2));
                }
                pairs[count++] = pair;
            }
            return sized ? pairs : pairs.AsSpan(0, count).ToArray();
        }
        finally
        {
            if (!sized && pairs.Length <= 256)
            {
                // The scratch keeps nothing of this map alive, and goes back for the next one (unless a huge map grew it).
                pairs.AsSpan(0, count).Clear();
                t_scratch = pairs;
            }
        }
    }

    private static bool IsDistinct(KeyValuePair<string, object?>[] pairs)
    {
        for (int i = 0; i < pairs.Length; i++)
        {
            if (pairs[i].Key is null || IndexOf(pairs.AsSpan(0, i), pairs[i].Key) >= 0)
            {
                return false;
            }
        }
        return true;
    }

    // Expansion maps are small (a handful of keys): a scan beats hashing.
    private static int IndexOf(ReadOnlySpan<KeyValuePair<string, object?>> pairs, string key)
    {
        for (int i = 0; i < pairs.Length; i++)
        {
            if (string.Equals(pairs[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }
}
