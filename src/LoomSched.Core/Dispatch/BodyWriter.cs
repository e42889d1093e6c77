using System.Text.Json;
using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// Writes message bodies one after another into an arena of its own (<see cref="BodyArena"/>), each a slice handed
/// out. Used by one thread at a time (<see cref="BodyWriterPool"/>).
/// </summary>
internal sealed class BodyWriter
{
    private readonly BodyArena _arena = new();
    private readonly Utf8JsonWriter _json;
    private readonly LoomTime.Speller _times = new(); // created_at of bodies written one after another
    private readonly WireFormat _wire;
    private readonly string _origin;
    private readonly TimeProvider _time;

    public BodyWriter(WireFormat wire, string origin, TimeProvider time)
    {
        _json = new Utf8JsonWriter(_arena);
        _wire = wire;
        _origin = origin;
        _time = time;
    }

    /// <summary>Writes the body of one message of <paramref name="fire"/>.</summary>
    /// <param name="fire">The fire: its schedule, its slot, its frame if it fans out.</param>
    /// <param name="overlay">The expansion map merged over context/payload, or null.</param>
    /// <param name="createdAt">The message's <c>created_at</c>; null: now.</param>
    /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
    public ReadOnlyMemory<byte> Write(FireMessages fire, IEnumerable<KeyValuePair<string, object?>>? overlay, DateTimeOffset? createdAt)
    {
        Span<byte> id = stackalloc byte[BodyValues.QuotedIdLength];
        Span<byte> created = stackalloc byte[BodyValues.QuotedTimeLength];
        Span<byte> messageId = stackalloc byte[BodyValues.QuotedIdLength];
        var made = createdAt ?? _time.GetUtcNow();
        created = created[..BodyValues.QuotedTime(made, created, _times)];
        BodyValues.NewQuotedId(id);
        if (_wire == WireFormat.Envelope)
        {
            BodyValues.NewQuotedMessageId(messageId, made);
        }
        else
        {
            messageId = default;
        }
        var values = new BodyValues(id, messageId, created, fire.QuotedSlot, overlay);
        // Whatever a failed body left behind goes.
        _arena.Discard();
        if (fire.Frame is { } frame)
        {
            frame.Write(_arena, _json, values);
        }
        else
        {
            DirectBody.Write(_arena, _json, fire.Schedule.Template, fire.Schedule.ScheduledBy, _wire, _origin, values);
        }
        return _arena.Commit();
    }
}
