using System.Globalization;

namespace LoomSched.Dispatch;

/// <summary>One message ready to publish: subject, JSON body, and what the NATS headers carry.</summary>
/// <remarks>
/// A fire of 100,000 messages keeps them all until they are sent, so a message is kept small: its body is a slice of
/// a shared block (<see cref="BodyArena"/>, reused once its bodies are released: <see cref="ReleaseBody"/>), the strings of its fire (subject, schedule, slot) are shared by every
/// message of it, and <see cref="MessageId"/> is spelled when it is read.
/// </remarks>
public sealed class DispatchMessage
{
    private readonly string? _idPrefix;
    private readonly int _index;
    private string? _messageId;
    private int _bodyReleased;

    /// <summary>A message with every value given.</summary>
    /// <param name="subject">e.g. <c>loom.goals.incoming</c>.</param>
    /// <param name="body">UTF-8 JSON of the OrchestratorGoal or TaskMessage.</param>
    /// <param name="scheduleName">Header <c>Loom-Schedule</c>.</param>
    /// <param name="scheduledFor">Header <c>Loom-Scheduled-For</c> (the slot, ISO).</param>
    /// <param name="messageId">Header <c>Nats-Msg-Id</c>.</param>
    public DispatchMessage(string subject, ReadOnlyMemory<byte> body, string scheduleName, string scheduledFor, string messageId)
    {
        Subject = subject;
        Body = body;
        ScheduleName = scheduleName;
        ScheduledFor = scheduledFor;
        _messageId = messageId;
    }

    /// <summary>
    /// A message whose id, <c>{scheduler}/{schedule}/{slot}/{index}</c>, is spelled when first read, from the fire's
    /// <paramref name="idPrefix"/> (<c>{scheduler}/{schedule}/{slot}/</c>) and the index.
    /// </summary>
    internal DispatchMessage(string subject, ReadOnlyMemory<byte> body, string scheduleName, string scheduledFor, string idPrefix, int index)
    {
        Subject = subject;
        Body = body;
        ScheduleName = scheduleName;
        ScheduledFor = scheduledFor;
        _idPrefix = idPrefix;
        _index = index;
    }

    /// <summary>e.g. <c>loom.goals.incoming</c>.</summary>
    public string Subject { get; }

    /// <summary>UTF-8 JSON of the OrchestratorGoal or TaskMessage.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Header <c>Loom-Schedule</c>.</summary>
    public string ScheduleName { get; }

    /// <summary>Header <c>Loom-Scheduled-For</c> (the slot, ISO).</summary>
    public string ScheduledFor { get; }

    /// <summary>
    /// Set by the port when it dropped the message (NATS away and its buffer full), before the hand-over returns: the
    /// fire counts it for its schedule.
    /// </summary>
    public bool Dropped { get; internal set; }

    /// <summary>Header <c>Nats-Msg-Id</c>: <c>{scheduler}/{schedule}/{slot ISO}/{expansion index}</c>.</summary>
    /// <remarks>
    /// A fan-out's ids are spelled each time they are read (once, when the message is sent), not kept: a hundred
    /// thousand strings kept until their messages are confirmed were copied at every collection meanwhile.
    /// </remarks>
    public string MessageId => _messageId ?? SpellId(_idPrefix!, _index);

    /// <summary>
    /// Lets the memory of <see cref="Body"/> be reused for later messages: for ports, once the message is delivered
    /// (confirmed) or refused for good, when nothing reads its body again. Only the first call counts; a message never
    /// released keeps its memory until the GC takes it.
    /// </summary>
    public void ReleaseBody()
    {
        if (Interlocked.Exchange(ref _bodyReleased, 1) == 0)
        {
            BodyBlock.Release(Body);
        }
    }

    /// <summary>Spells the id now and keeps it: a message made ahead of its slot, whose publisher is not to spell it in the burst.</summary>
    internal void KeepId() => _messageId ??= SpellId(_idPrefix!, _index);

    private static string SpellId(string prefix, int index)
    {
        Span<char> digits = stackalloc char[11];
        index.TryFormat(digits, out int length, provider: CultureInfo.InvariantCulture);
        return string.Concat(prefix.AsSpan(), digits[..length]);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Subject} {MessageId} ({Body.Length} bytes)";
}
