using LoomSched.Publishing;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// One send of a batch with <c>publish: jetstream</c>: completed true when every message of it was answered, false
/// when an answer asks for the batch to go again. A send given up on is never completed by a late answer.
/// </summary>
internal sealed class StreamAckSend(PublishBatch batch, long firstReply)
    : TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)
{
    /// <summary>One extra count for the send itself: the send cannot be complete before its last message went out.</summary>
    private int _awaiting = 1;

    public PublishBatch Batch { get; } = batch;

    /// <summary>The reply number of the batch's first message in this send.</summary>
    public long FirstReply { get; } = firstReply;

    /// <summary>A message went out with a reply subject: one more answer to await.</summary>
    public void Expect() => Interlocked.Increment(ref _awaiting);

    /// <summary>An answer came (or one is no longer awaited, or the send is complete): true after the last one.</summary>
    public void Answered()
    {
        if (Interlocked.Decrement(ref _awaiting) == 0)
        {
            TrySetResult(true);
        }
    }
}
