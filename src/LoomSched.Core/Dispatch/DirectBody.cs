using System.Text.Json;
using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// Writes one body straight into the arena as <see cref="BodyLayout"/> spells it: a plain fire's one message, whose
/// <see cref="WireFrame"/> would be garbage right after it.
/// </summary>
internal ref struct DirectBody : IBodyParts
{
    private readonly BodyArena _output;
    private readonly Utf8JsonWriter _writer;
    private readonly IReadOnlyDictionary<string, object?> _map;
    private readonly BodyValues _values;

    private DirectBody(BodyArena output, Utf8JsonWriter writer, IReadOnlyDictionary<string, object?> map, in BodyValues values)
    {
        _output = output;
        _writer = writer;
        _map = map;
        _values = values;
    }

    /// <summary>Writes the body of one message into <paramref name="output"/> (not committed).</summary>
    /// <param name="output">Where it goes.</param>
    /// <param name="writer">A writer for escaped text and the merged map; it is reset onto <paramref name="output"/>.</param>
    /// <param name="template">The schedule's goal or task.</param>
    /// <param name="scheduledBy">A task's <c>scheduled_by</c>.</param>
    /// <param name="wire">Bare, or in heddle's envelope.</param>
    /// <param name="origin">The envelope's <c>origin</c>.</param>
    /// <param name="values">What the message has of its own.</param>
    /// <exception cref="UnserializableValueException">A value of the expansion map has no JSON form.</exception>
    public static void Write(
        BodyArena output, Utf8JsonWriter writer, MessageTemplate template, string scheduledBy, WireFormat wire, string origin,
        in BodyValues values)
    {
        var body = new DirectBody(output, writer, template.Map, values);
        BodyLayout.Spell(ref body, template, scheduledBy, wire, origin);
    }

    /// <inheritdoc />
    public readonly void Raw(ReadOnlySpan<byte> json) => _output.Append(json);

    /// <inheritdoc />
    public readonly void Text(string value)
    {
        if (EncodedMap.IsPlainText(value))
        {
            _output.AppendQuotedAscii(value);
            return;
        }
        _writer.Reset(_output);
        _writer.WriteStringValue(value);
        _writer.Flush();
    }

    /// <inheritdoc />
    public readonly void Hole(BodyHole hole)
    {
        if (hole != BodyHole.Map)
        {
            _output.Append(_values.Of(hole));
            return;
        }
        _writer.Reset(_output);
        MergedMap.Write(_writer, _map, _values.Overlay);
        _writer.Flush();
    }
}
