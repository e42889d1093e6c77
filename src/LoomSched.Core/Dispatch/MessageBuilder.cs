using System.Runtime.CompilerServices;
using System.Text.Json;
using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// Builds the Loom message of one fire (or of one expansion map of it): the subject, the JSON body, bare or in heddle's
/// envelope as the config's <c>wire</c> says (as <see cref="BodyLayout"/> spells it, byte for byte as the
/// source-generated <see cref="LoomJsonContext"/> would), and the
/// header values. Pure: time comes from the given <see cref="TimeProvider"/>, ids are random UUIDs (v4, from the
/// system's cryptographic generator). Safe to use from several fires at once.
/// </summary>
public sealed class MessageBuilder
{
    // Writers kept for reuse: one per fire building at the same moment, which is rarely more than two.
    private const int SpareWriters = 4;

    private readonly string _schedulerName;
    private readonly string _goalSubject;
    private readonly string _taskSubject;
    private readonly TimeProvider _time;
    private readonly WireFormat _wire;
    private readonly string _origin;
    private readonly ConditionalWeakTable<ScheduleDefinition, WireFrame>.CreateValueCallback _newFrame;
    private readonly Lock _spareGate = new();
    private readonly BodyWriter?[] _spare = new BodyWriter?[SpareWriters];
    private readonly ConditionalWeakTable<ScheduleDefinition, WireFrame> _frames = new();
    private int _spareCount;

    /// <summary>Creates a builder for one scheduler config.</summary>
    public MessageBuilder(SchedulerConfig config, TimeProvider time)
    {
        _schedulerName = config.Name;
        _goalSubject = config.GoalSubject;
        _taskSubject = config.TaskSubject;
        _time = time;
        _wire = config.Wire;
        _origin = "loomsched/" + config.Name;
        _newFrame = schedule => WireFrame.Of(schedule.Template, schedule.ScheduledBy, _wire, _origin);
    }

    /// <summary>Builds one message.</summary>
    /// <param name="schedule">The schedule that fired.</param>
    /// <param name="slot">The slot it fired for (<c>scheduled_for</c>).</param>
    /// <param name="expansion">The expansion map merged over context/payload, or null.</param>
    /// <param name="index">The expansion index (0 without expansion), part of <c>Nats-Msg-Id</c>.</param>
    /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
    public DispatchMessage Build(
        ScheduleDefinition schedule, DateTimeOffset slot, IEnumerable<KeyValuePair<string, object?>>? expansion, int index) =>
        ForFire(schedule, slot).Build(expansion, index);

    /// <summary>The builder of one fire's messages: what they share (subject, slot spelling) is worked out once.</summary>
    /// <param name="schedule">The schedule that fired.</param>
    /// <param name="slot">The slot it fired for (<c>scheduled_for</c>).</param>
    public FireMessages ForFire(ScheduleDefinition schedule, DateTimeOffset slot) => new(this, schedule, slot);

    internal DispatchMessage Message(FireMessages fire, ReadOnlyMemory<byte> body, int index) =>
        new(fire.Subject, body, fire.Schedule.Name, fire.SlotText, fire.IdPrefix, index);

    internal string IdPrefix(ScheduleDefinition schedule, string slotText) => $"{_schedulerName}/{schedule.Name}/{slotText}/";

    /// <summary>
    /// The frame of a fan-out's messages, kept from its first fire on. Only fan-outs have one: a plain schedule's one
    /// message is written field by field, and a config of 100,000 schedules would otherwise keep as many frames (about
    /// 70 MB), each tied to its schedule by a handle that every collection goes through.
    /// </summary>
    internal WireFrame FrameOf(ScheduleDefinition schedule) => _frames.GetValue(schedule, _newFrame);

    internal ReadOnlyMemory<byte> BuildBody(
        FireMessages fire, IEnumerable<KeyValuePair<string, object?>>? expansion, DateTimeOffset? createdAt = null)
    {
        var body = RentWriter();
        try
        {
            return BuildBody(body, fire, expansion, createdAt);
        }
        finally
        {
            ReturnWriter(body);
        }
    }

    internal FireBodies StartBodies(FireMessages fire) => new(this, fire, RentWriter());

    private ReadOnlyMemory<byte> BuildBody(
        BodyWriter body, FireMessages fire, IEnumerable<KeyValuePair<string, object?>>? expansion, DateTimeOffset? createdAt)
    {
        Span<byte> id = stackalloc byte[BodyValues.QuotedIdLength];
        Span<byte> created = stackalloc byte[BodyValues.QuotedTimeLength];
        Span<byte> messageId = stackalloc byte[BodyValues.QuotedIdLength];
        var made = createdAt ?? _time.GetUtcNow();
        created = created[..BodyValues.QuotedTime(made, created, body.Times)];
        // Whatever a failed message left behind goes: the writer's state and the bytes it wrote.
        body.Arena.Discard();
        BodyValues.NewQuotedId(id);
        if (_wire == WireFormat.Envelope)
        {
            BodyValues.NewQuotedMessageId(messageId, made);
        }
        else
        {
            messageId = default;
        }
        var values = new BodyValues(id, messageId, created, fire.QuotedSlot, expansion);
        var schedule = fire.Schedule;
        if (schedule.ExpandFrom is not null)
        {
            fire.Frame.Write(body.Arena, body.Json, values);
        }
        else
        {
            DirectBody.Write(body.Arena, body.Json, schedule.Template, schedule.ScheduledBy, _wire, _origin, values);
        }
        return body.Arena.Commit();
    }

    internal string SubjectOf(ScheduleDefinition schedule) =>
        schedule.Template is GoalTemplate ? _goalSubject : _taskSubject;

    private BodyWriter RentWriter()
    {
        lock (_spareGate)
        {
            if (_spareCount > 0)
            {
                var writer = _spare[--_spareCount]!;
                _spare[_spareCount] = null;
                return writer;
            }
        }
        return new BodyWriter();
    }

    private void ReturnWriter(BodyWriter writer)
    {
        lock (_spareGate)
        {
            if (_spareCount < SpareWriters)
            {
                _spare[_spareCount++] = writer;
            }
        }
    }

    /// <summary>
    /// The bodies of one fire's messages, built one after another on one writer, rented for them all (not for each
    /// body). Dispose returns the writer.
    /// </summary>
    internal sealed class FireBodies : IDisposable
    {
        private readonly MessageBuilder _builder;
        private readonly FireMessages _fire;
        private BodyWriter? _writer;

        internal FireBodies(MessageBuilder builder, FireMessages fire, BodyWriter writer) =>
            (_builder, _fire, _writer) = (builder, fire, writer);

        /// <summary>Builds the body of one expansion map.</summary>
        /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
        public ReadOnlyMemory<byte> Build(IEnumerable<KeyValuePair<string, object?>>? expansion) =>
            _builder.BuildBody(_writer ?? throw new ObjectDisposedException(nameof(FireBodies)), _fire, expansion, null);

        public void Dispose()
        {
            if (_writer is { } writer)
            {
                _writer = null;
                _builder.ReturnWriter(writer);
            }
        }
    }

    /// <summary>A JSON writer and the arena it writes into, reused message after message.</summary>
    internal sealed class BodyWriter
    {
        public BodyWriter() => Json = new Utf8JsonWriter(Arena);

        public BodyArena Arena { get; } = new();

        public Utf8JsonWriter Json { get; }

        /// <summary>The <c>created_at</c> of the messages it writes, one after another.</summary>
        public LoomTime.Speller Times { get; } = new();
    }
}

/// <summary>
/// Builds the messages of one fire (one schedule, one slot): the slot is spelled once, and the messages share that
/// text and their subject. Safe to use from several threads.
/// </summary>
public sealed class FireMessages
{
    private readonly MessageBuilder _builder;
    private WireFrame? _frame;
    private string? _idPrefix;

    internal FireMessages(MessageBuilder builder, ScheduleDefinition schedule, DateTimeOffset slot)
    {
        _builder = builder;
        Schedule = schedule;
        SlotText = LoomTime.Format(slot);
        Span<byte> quoted = stackalloc byte[BodyValues.QuotedTimeLength];
        QuotedSlot = quoted[..BodyValues.QuotedTime(slot, quoted)].ToArray();
        Subject = builder.SubjectOf(schedule);
    }

    /// <summary>The schedule that fired.</summary>
    public ScheduleDefinition Schedule { get; }

    /// <summary>The slot, spelled the Loom way (<c>scheduled_for</c>, header <c>Loom-Scheduled-For</c>).</summary>
    public string SlotText { get; }

    /// <summary>Where the messages go.</summary>
    public string Subject { get; }

    /// <summary>The slot as its messages carry it (<c>scheduled_for</c>): spelled once for all of them.</summary>
    internal byte[] QuotedSlot { get; }

    /// <summary>What a fan-out's bodies share (looked up at the first body, so that a failure is the fire's).</summary>
    internal WireFrame Frame => _frame ??= _builder.FrameOf(Schedule);

    /// <summary>The start of every <c>Nats-Msg-Id</c> of the fire, up to the expansion index.</summary>
    internal string IdPrefix => _idPrefix ??= _builder.IdPrefix(Schedule, SlotText);

    /// <summary>Builds the message of one expansion map (or the fire's only message).</summary>
    /// <param name="expansion">The expansion map merged over context/payload, or null.</param>
    /// <param name="index">The expansion index (0 without expansion), part of <c>Nats-Msg-Id</c>.</param>
    /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
    public DispatchMessage Build(IEnumerable<KeyValuePair<string, object?>>? expansion, int index) =>
        Message(BuildBody(expansion), index);

    /// <summary>
    /// Builds the body of one message only. A big fire keeps its bodies (slices of a few large arrays) until it sends
    /// them, and makes each <see cref="DispatchMessage"/> as it hands it to the port: a hundred thousand small objects
    /// kept through several collections cost more than building them (measured).
    /// </summary>
    /// <param name="expansion">The expansion map merged over context/payload, or null.</param>
    /// <param name="createdAt">The message's <c>created_at</c>; null: now.</param>
    internal ReadOnlyMemory<byte> BuildBody(IEnumerable<KeyValuePair<string, object?>>? expansion, DateTimeOffset? createdAt = null) =>
        _builder.BuildBody(this, expansion, createdAt);

    /// <summary>Builds bodies one after another on one writer, until disposed (a fire of many messages).</summary>
    internal MessageBuilder.FireBodies StartBodies() => _builder.StartBodies(this);

    /// <summary>The message of a body built by <see cref="BuildBody"/>, with its expansion index.</summary>
    internal DispatchMessage Message(ReadOnlyMemory<byte> body, int index) => _builder.Message(this, body, index);
}
