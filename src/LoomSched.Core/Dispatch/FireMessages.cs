using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// Builds the messages of one fire (one schedule, one slot): the slot is spelled once, and the messages share that
/// text and their subject. Safe to use from several threads.
/// </summary>
public sealed class FireMessages
{
    private readonly string _schedulerName;
    private readonly BodyWriterPool _writers;
    private readonly WireFrames _frames;
    private WireFrame? _frame;
    private string? _idPrefix;

    internal FireMessages(
        ScheduleDefinition schedule, DateTimeOffset slot, string subject, string schedulerName, BodyWriterPool writers, WireFrames frames)
    {
        Schedule = schedule;
        SlotText = LoomTime.Format(slot);
        Span<byte> quoted = stackalloc byte[BodyValues.QuotedTimeLength];
        QuotedSlot = quoted[..BodyValues.QuotedTime(slot, quoted)].ToArray();
        Subject = subject;
        _schedulerName = schedulerName;
        _writers = writers;
        _frames = frames;
    }

    /// <summary>The schedule that fired.</summary>
    public ScheduleDefinition Schedule { get; }

    /// <summary>The slot, spelled the Loom way (<c>scheduled_for</c>, header <c>Loom-Scheduled-For</c>).</summary>
    public string SlotText { get; }

    /// <summary>Where the messages go.</summary>
    public string Subject { get; }

    /// <summary>The slot as its messages carry it (<c>scheduled_for</c>): spelled once for all of them.</summary>
    internal byte[] QuotedSlot { get; }

    /// <summary>
    /// What a fan-out's bodies share, or null: a plain schedule's one message is written at once (<see cref="DirectBody"/>).
    /// Looked up at the first body, so that a failure is the fire's.
    /// </summary>
    internal WireFrame? Frame => Schedule.ExpandFrom is null ? null : (_frame ??= _frames.Of(Schedule));

    /// <summary>The start of every <c>Nats-Msg-Id</c> of the fire, up to the expansion index.</summary>
    internal string IdPrefix => _idPrefix ??= $"{_schedulerName}/{Schedule.Name}/{SlotText}/";

    /// <summary>Builds the message of one expansion map (or the fire's only message).</summary>
    /// <param name="expansion">The expansion map merged over context/payload, or null.</param>
    /// <param name="index">The expansion index (0 without expansion), part of <c>Nats-Msg-Id</c>.</param>
    /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
    public DispatchMessage Build(IEnumerable<KeyValuePair<string, object?>>? expansion, int index) =>
        Message(BuildBody(expansion), index);

    /// <summary>
    /// Builds the body of one message only. A big fire keeps its bodies (slices of a few large arrays) until it sends
    /// them, and makes each <see cref="DispatchMessage"/> as it hands it to the port: a hundred thousand small objects
    /// kept through several collections cost more than building them.
    /// </summary>
    /// <param name="expansion">The expansion map merged over context/payload, or null.</param>
    /// <param name="createdAt">The message's <c>created_at</c>; null: now.</param>
    /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
    internal ReadOnlyMemory<byte> BuildBody(IEnumerable<KeyValuePair<string, object?>>? expansion, DateTimeOffset? createdAt = null)
    {
        var writer = _writers.Rent();
        try
        {
            return writer.Write(this, expansion, createdAt);
        }
        finally
        {
            _writers.Return(writer);
        }
    }

    /// <summary>Builds bodies one after another on one writer, until disposed (a fire of many messages).</summary>
    internal FireBodies StartBodies() => new(this, _writers);

    /// <summary>The message of a body built by <see cref="BuildBody"/>, with its expansion index.</summary>
    internal DispatchMessage Message(ReadOnlyMemory<byte> body, int index) =>
        new(Subject, body, Schedule.Name, SlotText, IdPrefix, index);
}
