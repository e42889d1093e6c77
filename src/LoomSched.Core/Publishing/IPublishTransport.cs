namespace LoomSched.Publishing;

/// <summary>
/// Where the <see cref="Publisher"/> sends batches and how it learns they arrived: a link (NATS) together with the
/// way it confirms (a server round trip, or a stream's acknowledgement).
/// </summary>
public interface IPublishTransport
{
    /// <summary>Whether the link is up now.</summary>
    bool IsOpen { get; }

    /// <summary>
    /// Completes once <paramref name="next"/> can go out and its confirmations come back (e.g. the reply inbox is
    /// subscribed, a stream captures its subjects); called before each session's first send.
    /// </summary>
    Task ReadyAsync(PublishBatch next, CancellationToken stop);

    /// <summary>Ties the next sends to the open connection; null when it changed or went meanwhile (try again).</summary>
    PublishSession? BeginSession(CancellationToken stop);

    /// <summary>The publisher is done with the session (it cancels and disposes it after this).</summary>
    void EndSession(PublishSession session);

    /// <summary>
    /// Hands the batch to the link in order; messages refused for good leave the batch, counted. False when the
    /// connection broke under the write: the batch goes again on the next session.
    /// </summary>
    Task<bool> SendAsync(PublishBatch batch, PublishSession session, CancellationToken stop);

    /// <summary>
    /// Starts the confirmation of a batch just sent: true once the far end has every message of it (or refused
    /// some for good), false when it may not have (the batch and those after it go again).
    /// </summary>
    Task<bool> ConfirmAsync(PublishBatch batch, PublishSession session, CancellationToken stop);

    /// <summary>The batch is confirmed and about to be counted: the transport marks and says what it learnt was refused.</summary>
    void Confirmed(PublishBatch batch);
}
