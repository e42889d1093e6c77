using System.Text.Json;
using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// A fan-out's body as <see cref="BodyLayout"/> spells it, recorded once: the bytes all its messages share, with holes
/// between them for what each has of its own, and the config's map with each value encoded (<see cref="EncodedMap"/>).
/// A body is the pieces with the holes filled.
/// </summary>
internal sealed class WireFrame
{
    private readonly byte[][] _pieces; // _pieces[i] goes before _holes[i]; the last piece ends the body
    private readonly BodyHole[] _holes;

    private WireFrame(EncodedMap map, byte[][] pieces, BodyHole[] holes)
    {
        Map = map;
        _pieces = pieces;
        _holes = holes;
    }

    /// <summary>The config's map (<c>payload</c> of a task, <c>context</c> of a goal), encoded.</summary>
    public EncodedMap Map { get; }

    /// <summary>The frame of <paramref name="template"/>'s messages on <paramref name="wire"/>.</summary>
    /// <param name="template">The schedule's goal or task.</param>
    /// <param name="scheduledBy">A task's <c>scheduled_by</c>.</param>
    /// <param name="wire">Bare, or in heddle's envelope.</param>
    /// <param name="origin">The envelope's <c>origin</c>.</param>
    public static WireFrame Of(MessageTemplate template, string scheduledBy, WireFormat wire, string origin)
    {
        var recorder = new Recorder();
        BodyLayout.Spell(ref recorder, template, scheduledBy, wire, origin);
        var (pieces, holes) = recorder.Finish();
        return new WireFrame(EncodedMap.Of(template.Map), pieces, holes);
    }

    /// <summary>Writes one message's body into <paramref name="output"/> (not committed).</summary>
    /// <param name="output">Where it goes.</param>
    /// <param name="writer">A writer for a merged map not written directly; it is reset onto <paramref name="output"/>.</param>
    /// <param name="values">What the message has of its own.</param>
    /// <exception cref="UnserializableValueException">A value of the expansion map has no JSON form.</exception>
    public void Write(BodyArena output, Utf8JsonWriter writer, in BodyValues values)
    {
        for (int i = 0; i < _holes.Length; i++)
        {
            output.Append(_pieces[i]);
            var hole = _holes[i];
            if (hole != BodyHole.Map)
            {
                output.Append(values.Of(hole));
            }
            else if (!MergedMap.TryWriteDirect(output, Map, values.Overlay))
            {
                writer.Reset(output);
                MergedMap.Write(writer, Map, values.Overlay);
                writer.Flush();
            }
        }
        output.Append(_pieces[^1]);
    }

    /// <summary>Records the pieces: raw bytes as they are, text encoded as the serializer does, a new piece after each hole.</summary>
    private sealed class Recorder : IBodyParts
    {
        private readonly List<byte[]> _pieces = [];
        private readonly List<BodyHole> _holes = [];
        private readonly List<byte> _current = [];

        public void Raw(ReadOnlySpan<byte> json) => _current.AddRange(json);

        public void Text(string value)
        {
            _current.Add((byte)'"');
            _current.AddRange(JsonEncodedText.Encode(value).EncodedUtf8Bytes);
            _current.Add((byte)'"');
        }

        public void Hole(BodyHole hole)
        {
            _pieces.Add([.. _current]);
            _current.Clear();
            _holes.Add(hole);
        }

        public (byte[][] Pieces, BodyHole[] Holes) Finish() => ([.. _pieces, [.. _current]], [.. _holes]);
    }
}
