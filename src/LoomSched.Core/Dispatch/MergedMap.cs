using System.Buffers;
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

    // One array of the overlay's size (a message of a big fire is built in about a microsecond: a list, its growth and
    // a copy per message showed). Maps whose size is unknown (iterators) are gathered in a per-thread scratch array
    // first; its first `count` entries are the overlay.
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

/// <summary>
/// A config map with each key and value encoded as the serializer writes them, once: the part of every message's
/// payload (or context) that the messages of a schedule share.
/// </summary>
internal sealed class EncodedMap
{
    private EncodedMap(IReadOnlyDictionary<string, object?> map, Entry[] entries)
    {
        Map = map;
        Entries = entries;
    }

    /// <summary>The map.</summary>
    public IReadOnlyDictionary<string, object?> Map { get; }

    /// <summary>Its entries in order, encoded.</summary>
    public Entry[] Entries { get; }

    /// <summary>Encodes <paramref name="map"/>.</summary>
    /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
    public static EncodedMap Of(IReadOnlyDictionary<string, object?> map)
    {
        var entries = new List<Entry>(map.Count);
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer);
        foreach (var (key, value) in map)
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            JsonValueWriter.Write(writer, value);
            writer.Flush();
            entries.Add(new Entry(key, JsonEncodedText.Encode(key), buffer.WrittenSpan.ToArray()));
        }
        return new EncodedMap(map, [.. entries]);
    }

    /// <summary>
    /// The index of <paramref name="key"/>'s encoded name (<see cref="OverlayNameAt"/>), encoded on first use; -1 when
    /// the key cannot be encoded or too many keys are known already (the caller then uses the JSON writer).
    /// </summary>
    internal int OverlayName(string key)
    {
        var known = Volatile.Read(ref _overlayNames);
        for (int i = 0; i < known.Length; i++)
        {
            if (ReferenceEquals(known[i].Key, key))
            {
                return i;
            }
        }
        for (int i = 0; i < known.Length; i++)
        {
            if (string.Equals(known[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }
        if (known.Length >= MaxOverlayNames)
        {
            return -1;
        }
        byte[] member;
        try
        {
            member = Member(JsonEncodedText.Encode(key));
        }
        catch (ArgumentException)
        {
            return -1; // not valid UTF-16: the writer says what is wrong with it
        }
        // Copy on write: helpers building one fire's bodies read the list while another adds to it. A key added by
        // two at once is simply known twice.
        var name = new OverlayKey(key, member, Map.ContainsKey(key));
        while (true)
        {
            var grown = (OverlayKey[])[.. known, name];
            var seen = Interlocked.CompareExchange(ref _overlayNames, grown, known);
            if (ReferenceEquals(seen, known))
            {
                return grown.Length - 1;
            }
            known = seen;
            if (known.Length >= MaxOverlayNames)
            {
                return -1;
            }
        }
    }

    /// <summary>An overlay key's encoded name and whether the config map has the key.</summary>
    internal OverlayKey OverlayNameAt(int index) => Volatile.Read(ref _overlayNames)[index];

    /// <summary>True when the JSON writer would write <paramref name="text"/> as it is, in quotes (printable ASCII
    /// that its default encoder does not escape).</summary>
    internal static bool IsPlainText(string text)
    {
        var plain = PlainAscii;
        foreach (char c in text)
        {
            if (c >= 128 || !plain[c])
            {
                return false;
            }
        }
        return true;
    }

    private const int MaxOverlayNames = 64;

    // Which ASCII characters the writer's default encoder leaves as they are: asked of the encoder itself, once.
    private static readonly bool[] PlainAscii = MakePlainAscii();

    private OverlayKey[] _overlayNames = [];

    private static bool[] MakePlainAscii()
    {
        var plain = new bool[128];
        for (int c = 0; c < 128; c++)
        {
            var encoded = JsonEncodedText.Encode(((char)c).ToString()).EncodedUtf8Bytes;
            plain[c] = encoded.Length == 1 && encoded[0] == c;
        }
        return plain;
    }

    // "name": as the writer writes a property name.
    private static byte[] Member(JsonEncodedText name) => [(byte)'"', .. name.EncodedUtf8Bytes, (byte)'"', (byte)':'];

    /// <summary>One entry: its key, the key encoded, and the value's JSON.</summary>
    public sealed class Entry(string key, JsonEncodedText name, byte[] value)
    {
        public string Key { get; } = key;

        public JsonEncodedText Name { get; } = name;

        public byte[] Value { get; } = value;

        /// <summary><c>"name":</c>, as the writer writes the property name.</summary>
        public byte[] Member { get; } = EncodedMap.Member(name);
    }

    /// <summary>A key of expansion maps: <c>"name":</c> encoded, and whether the config map has it too.</summary>
    internal readonly record struct OverlayKey(string Key, byte[] Member, bool InBase);
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
