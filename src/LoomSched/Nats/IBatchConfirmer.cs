using LoomSched.Publishing;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// How a batch written to NATS is known to have arrived: by a server round trip (<see cref="PingConfirmer"/>,
/// <c>publish: core</c>) or by the stream's PubAck of each message (<see cref="StreamAckConfirmer"/>,
/// <c>publish: jetstream</c>). The client's <c>PublishAsync</c> completes once a message is in its write buffer,
/// not when the server has it: what is lost with the connection does not fail the call.
/// </summary>
internal interface IBatchConfirmer : IAsyncDisposable
{
    /// <summary>Completes once answers to <paramref name="next"/> can be received.</summary>
    Task ReadyAsync(PublishBatch next, CancellationToken stop);

    /// <summary>A new connection's session began: what the old one was told no longer applies.</summary>
    void SessionBegun();

    /// <summary>A send of the batch starts.</summary>
    void Begin(PublishBatch batch);

    /// <summary>The reply subject of the batch's message at <paramref name="index"/>, about to go out; null for none.</summary>
    string? ReplySubject(PublishBatch batch, int index);

    /// <summary>The message at <paramref name="index"/> did not go out after all (the client refused it).</summary>
    void Forget(PublishBatch batch, int index);

    /// <summary>The send broke off: no answer to it is awaited any more.</summary>
    void End(PublishBatch batch);

    /// <summary>The whole batch is out: true once every message of it is confirmed (or refused for good).</summary>
    Task<bool> ConfirmAsync(PublishBatch batch, PublishSession session, CancellationToken stop);

    /// <summary>The server refused a publish on <paramref name="subject"/> for the user's permissions (client's reading thread).</summary>
    void OnDenied(string subject);

    /// <summary>The batch is confirmed: the refusals learnt meanwhile are marked in it before it is counted.</summary>
    void Confirmed(PublishBatch batch);
}
