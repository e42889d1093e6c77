using LoomSched.Dispatch;
using LoomSched.Publishing;
using NATS.Client.Core;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// <c>publish: core</c>: a PING after the batch; the PONG on the same connection confirms every message before it,
/// since the server answers in order. Publishes the server refuses for the user's permissions are dropped by it yet
/// answered by that PONG: they are counted here, and taken off the batch when it settles.
/// </summary>
internal sealed class PingConfirmer(INatsConnection connection, PublishBuffer buffer) : IBatchConfirmer
{
    private static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(3);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _denied = new(StringComparer.Ordinal); // under _lock

    public Task ReadyAsync(PublishBatch next, CancellationToken stop) => Task.CompletedTask;

    public void SessionBegun()
    {
        lock (_lock)
        {
            _denied.Clear(); // refusals of what a lost connection carried: it goes again, and is answered again
        }
    }

    public void Begin(PublishBatch batch)
    {
    }

    public string? ReplySubject(PublishBatch batch, int index) => null;

    public void Forget(PublishBatch batch, int index)
    {
    }

    public void End(PublishBatch batch)
    {
    }

    public async Task<bool> ConfirmAsync(PublishBatch batch, PublishSession session, CancellationToken stop)
    {
        try
        {
            await connection.PingAsync(session.Token).AsTask().WaitAsync(ConfirmTimeout, session.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or NatsException or OperationCanceledException or ObjectDisposedException && !stop.IsCancellationRequested)
        {
            return false;
        }
        // The PONG came on the connection the batch went out on, and it answers everything sent before the PING.
        return !session.Token.IsCancellationRequested && ReferenceEquals(session.Link, connection.ServerInfo);
    }

    /// <remarks>
    /// Called on the client's reading thread: it only counts. The refusals of a batch's messages come before its
    /// PONG, so the batch settled next takes as many of its messages on that subject as were refused.
    /// </remarks>
    public void OnDenied(string subject)
    {
        lock (_lock)
        {
            _denied[subject] = _denied.GetValueOrDefault(subject) + 1;
        }
    }

    public void Confirmed(PublishBatch batch)
    {
        List<DispatchMessage>? denied = null;
        lock (_lock)
        {
            if (_denied.Count == 0)
            {
                return;
            }
            foreach (var message in batch.Messages)
            {
                if (_denied.TryGetValue(message.Subject, out int left))
                {
                    if (left == 1)
                    {
                        _denied.Remove(message.Subject);
                    }
                    else
                    {
                        _denied[message.Subject] = left - 1;
                    }
                    (denied ??= []).Add(message);
                }
            }
        }
        foreach (var message in denied ?? [])
        {
            buffer.CountRefused();
            batch.Refuse(message, denied: true);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
