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

/// <summary>The core's output port: where built messages go. The daemon's adapter publishes on NATS.</summary>
public interface IDispatchPort
{
    /// <summary>
    /// Publishes (or buffers) one message. Throws when the message cannot be accepted. Must not block the calling
    /// thread: the engine calls it on its timer loop for fires that need no await, and goes on with other fires when
    /// the returned task is not complete (e.g. back-pressure), finishing that fire on a task of its own.
    /// </summary>
    ValueTask PublishAsync(DispatchMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Publishes (or buffers) several messages, in order, as <see cref="PublishAsync(DispatchMessage, CancellationToken)"/>
    /// does each: a fire of many messages hands them over a few hundred at a time. Returns how many it took; fewer than
    /// given only when one could not be accepted after others were (it throws when it took none). The messages are
    /// taken out of <paramref name="messages"/> before it returns: the caller may fill the array again.
    /// </summary>
    async ValueTask<int> PublishAsync(ArraySegment<DispatchMessage> messages, CancellationToken cancellationToken)
    {
        int taken = 0;
        foreach (var message in messages)
        {
            try
            {
                await PublishAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (taken > 0)
            {
                return taken; // the caller's next call, starting with this message, meets the exception itself
            }
            taken++;
        }
        return taken;
    }

    /// <summary>
    /// Takes as many of <paramref name="messages"/>, from the first, as it can at once without failing, and returns
    /// how many; the caller publishes the rest as usual. Then waits, at most <paramref name="untilWritten"/>, until
    /// they are on their way (written to the connection), never for a confirmation. The engine hands a slot's
    /// ready-made messages over with it all together, before it does the bookkeeping of their fires. A port may take
    /// none (the default).
    /// </summary>
    int TryPublishNow(ReadOnlySpan<DispatchMessage> messages, TimeSpan untilWritten) => 0;

    /// <summary>
    /// Completes when every message accepted so far is confirmed delivered (or refused for good). A port that
    /// confirms nothing completes at once.
    /// </summary>
    ValueTask WhenSentAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
