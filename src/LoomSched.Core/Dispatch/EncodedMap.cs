using System.Buffers;
using System.Text.Json;

namespace LoomSched.Dispatch;

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
