namespace LoomSched.Dispatch;

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
