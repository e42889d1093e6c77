using System.Threading.Channels;
using LoomSched.Dispatch;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// The core's output port on NATS. Messages pass through a bounded buffer (<c>max_pending</c>) drained in
/// order by one publisher: while NATS is up, a full buffer slows the fire down (back-pressure); while it is
/// away, fires keep their timing, their messages wait in the buffer, and what does not fit is counted and
/// logged as dropped, never lost silently. On reconnect the buffer drains in order.
/// </summary>
/// <remarks>
/// NATS.Client.Core's <c>PublishAsync</c> completes once the message is in the client's write buffer, not when
/// the server has it: what is still in that buffer (or in the socket) when the connection dies is gone, and the
/// call does not fail. So a message leaves this port only when the server has confirmed it: the publisher hands
/// a batch to the client while the connection is open, then sends a PING; the PONG on the same connection (the
/// server answers in order) confirms every message before it. A batch not confirmed (the connection dropped,
/// or no PONG in time) is sent again, from its start, on the next connection. To keep the order, nothing of a
/// batch may reach a newer connection before that resend: the client's hook before each connection attempt
/// cancels the batch's token, so a publish waiting inside the client for the next connection fails instead of
/// overtaking. The price is duplicates: messages of the batch that did reach the server go again. Each carries
/// the same <c>Nats-Msg-Id</c>, so a JetStream stream drops the copy; core subscribers may see it twice.
/// A message counts against <c>max_pending</c> until confirmed, so the bound covers everything not yet known
/// to be delivered.
/// </remarks>
internal sealed partial class NatsDispatchPort : IDispatchPort, IAsyncDisposable
{
    private const int BatchSize = 256;
    private static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan OpenPoll = TimeSpan.FromMilliseconds(20);
    private static readonly NatsRawSerializer<ReadOnlyMemory<byte>> Raw = NatsRawSerializer<ReadOnlyMemory<byte>>.Default;

    private readonly INatsConnection _connection;
    private readonly Channel<DispatchMessage> _buffer;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _publisher;
    private readonly Func<(string Host, int Port), ValueTask<(string Host, int Port)>>? _previousHook;
    private TaskCompletionSource _spaceFreed = NewSignal();
    private Session? _session;
    private bool _closed;
    private int _occupied;
    private long _published;
    private long _dropped;
    private long _publishErrors;
    private long _resent;

    public NatsDispatchPort(INatsConnection connection, int maxPending, ILogger log)
    {
        _connection = connection;
        _log = log;
        Capacity = Math.Max(1, maxPending);
        // Unbounded: the bound is _occupied (queued + sent but unconfirmed), checked under _gate.
        _buffer = Channel.CreateUnbounded<DispatchMessage>(new UnboundedChannelOptions { SingleReader = true });
        _previousHook = connection.OnConnectingAsync;
        connection.OnConnectingAsync = OnConnectingAsync;
        _publisher = Task.Run(PublishLoopAsync);
    }

    public int Capacity { get; }

    /// <summary>Messages the server confirmed.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Messages refused because the buffer was full while NATS was away.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Messages NATS refused outright (e.g. over the server's max_payload).</summary>
    public long PublishErrors => Interlocked.Read(ref _publishErrors);

    /// <summary>Messages sent a second time because the connection dropped before the server confirmed them.</summary>
    public long Resent => Interlocked.Read(ref _resent);

    /// <summary>Messages accepted and not yet confirmed, refused or abandoned.</summary>
    public int Pending => Volatile.Read(ref _occupied);

    private bool IsOpen => _connection.ConnectionState == NatsConnectionState.Open;

    public async ValueTask PublishAsync(DispatchMessage message, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task spaceFreed;
            lock (_gate)
            {
                if (_closed)
                {
                    // Shutting down: the fire is being cut; the engine counts this message as abandoned.
                    throw new OperationCanceledException("the publish buffer is closed for shutdown");
                }
                if (_occupied < Capacity)
                {
                    _occupied++;
                    _buffer.Writer.TryWrite(message);
                    return;
                }
                if (!IsOpen)
                {
                    break;
                }
                if (_spaceFreed.Task.IsCompleted)
                {
                    _spaceFreed = NewSignal();
                }
                spaceFreed = _spaceFreed.Task;
            }
            // Back-pressure while NATS is up. The wait re-checks the connection now and then, so a fire that began
            // waiting while NATS was up drops instead of stalling once NATS goes away.
            try
            {
                await spaceFreed.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
        long dropped = Interlocked.Increment(ref _dropped);
        // One line per power of two keeps a long outage from flooding the log while still saying how bad it is.
        if ((dropped & (dropped - 1)) == 0)
        {
            LogDropped(message.ScheduleName, message.ScheduledFor, Capacity, dropped);
        }
    }

    /// <summary>
    /// Stops accepting messages and waits up to <paramref name="grace"/> for the buffer to be sent and confirmed;
    /// returns how many messages were left unconfirmed (abandoned).
    /// </summary>
    public async Task<int> FlushAsync(TimeSpan grace)
    {
        lock (_gate)
        {
            _closed = true;
            _buffer.Writer.TryComplete();
        }
        try
        {
            await _publisher.WaitAsync(grace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _publisher.WaitAsync(TimeSpan.FromMilliseconds(300)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        return Pending;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _closed = true;
            _buffer.Writer.TryComplete();
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _publisher.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        _stop.Dispose();
    }

    private async Task PublishLoopAsync()
    {
        var stop = _stop.Token;
        var batch = new List<DispatchMessage>(BatchSize);
        try
        {
            while (true)
            {
                if (batch.Count == 0)
                {
                    if (!await _buffer.Reader.WaitToReadAsync(stop).ConfigureAwait(false))
                    {
                        return; // closed and empty: everything is confirmed
                    }
                    while (batch.Count < BatchSize && _buffer.Reader.TryRead(out var next))
                    {
                        batch.Add(next);
                    }
                }
                await WaitForOpenAsync(stop).ConfigureAwait(false);
                bool confirmed;
                using (var session = BeginSession(stop))
                {
                    confirmed = session is not null
                        && await SendAsync(batch, session.Token, stop).ConfigureAwait(false)
                        && await ConfirmAsync(session, stop).ConfigureAwait(false);
                    lock (_gate)
                    {
                        _session = null;
                    }
                }
                if (confirmed)
                {
                    Confirmed(batch.Count);
                    batch.Clear();
                }
                else if (batch.Count > 0)
                {
                    Interlocked.Add(ref _resent, batch.Count);
                    LogResending(batch.Count, batch[0].ScheduleName, batch[0].ScheduledFor);
                    await Task.Delay(OpenPoll, stop).ConfigureAwait(false); // never spin on a connection that keeps failing
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutdown grace ran out; what is left is counted by FlushAsync as abandoned.
        }
    }

    /// <summary>
    /// Ties the next batch to the open connection: its token is cancelled by the client's reconnect hook, which
    /// runs before any new connection exists. Null when the connection changed meanwhile (try again).
    /// </summary>
    private Session? BeginSession(CancellationToken stop)
    {
        // A new connection brings a new INFO, hence a new ServerInfo object: it tells the connections apart.
        var info = _connection.ServerInfo;
        var session = new Session(info, stop);
        lock (_gate)
        {
            _session = session;
        }
        // Checked after registering: a drop from here on finds the session and cancels it; an earlier one shows
        // as a closed or different connection.
        if (!IsOpen || !ReferenceEquals(info, _connection.ServerInfo))
        {
            lock (_gate)
            {
                _session = null;
            }
            session.Dispose();
            return null;
        }
        return session;
    }

    // The client's hook before every connection attempt: the connection the batch was sent on is gone. Without
    // this, a publish that waits inside the client for the next connection would go out on it ahead of the
    // messages lost with the old one, and overtake them.
    private ValueTask<(string Host, int Port)> OnConnectingAsync((string Host, int Port) target)
    {
        Session? session;
        lock (_gate)
        {
            session = _session;
        }
        session?.Cancel();
        return _previousHook?.Invoke(target) ?? ValueTask.FromResult(target);
    }

    /// <summary>Hands the batch to the client; refused messages leave the batch. False when the connection broke.</summary>
    private async Task<bool> SendAsync(List<DispatchMessage> batch, CancellationToken session, CancellationToken stop)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            var message = batch[i];
            var headers = new NatsHeaders
            {
                ["Loom-Schedule"] = message.ScheduleName,
                ["Loom-Scheduled-For"] = message.ScheduledFor,
                ["Nats-Msg-Id"] = message.MessageId,
            };
            try
            {
                await _connection.PublishAsync(message.Subject, message.Body, headers, serializer: Raw, cancellationToken: session)
                    .ConfigureAwait(false);
            }
            catch (NatsPayloadTooLargeException ex)
            {
                // The client checks the server's max_payload before writing: retrying cannot help. The message
                // is counted and logged, and it leaves the buffer.
                Interlocked.Increment(ref _publishErrors);
                LogPublishFailed(message.ScheduleName, message.ScheduledFor, message.Subject, ex.Message);
                batch.RemoveAt(i--);
                Release(1);
            }
            catch (Exception ex) when (ex is NatsException or OperationCanceledException or ObjectDisposedException && !stop.IsCancellationRequested)
            {
                // The connection went away under the write: the whole batch goes again on the next one.
                return false;
            }
        }
        return true;
    }

    private async Task<bool> ConfirmAsync(Session session, CancellationToken stop)
    {
        try
        {
            await _connection.PingAsync(session.Token).AsTask().WaitAsync(ConfirmTimeout, session.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or NatsException or OperationCanceledException && !stop.IsCancellationRequested)
        {
            return false;
        }
        // The PONG came on the connection the batch went out on, and it answers everything sent before the PING.
        return !session.Token.IsCancellationRequested && ReferenceEquals(session.Info, _connection.ServerInfo);
    }

    private async Task WaitForOpenAsync(CancellationToken token)
    {
        // Polled only while NATS is away and messages wait: the client's own wait is cancelled by every
        // disconnect, and a poll is simpler to get right than re-arming it.
        while (!IsOpen)
        {
            await Task.Delay(OpenPoll, token).ConfigureAwait(false);
        }
    }

    private void Confirmed(int count)
    {
        Interlocked.Add(ref _published, count);
        Release(count);
    }

    private void Release(int count)
    {
        lock (_gate)
        {
            _occupied -= count;
            _spaceFreed.TrySetResult();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One batch's hold on one connection.</summary>
    private sealed class Session(INatsServerInfo? info, CancellationToken stop) : IDisposable
    {
        private readonly CancellationTokenSource _cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);

        public INatsServerInfo? Info { get; } = info;
        public CancellationToken Token => _cancel.Token;

        public void Cancel()
        {
            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void Dispose() => _cancel.Dispose();
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning,
        Message = "dropped {Schedule} slot={Slot}: NATS is away and the buffer of {Capacity} messages (max_pending) is full; dropped so far: {Dropped}")]
    private partial void LogDropped(string schedule, string slot, int capacity, long dropped);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error,
        Message = "publish failed {Schedule} slot={Slot} subject={Subject}: {Reason}")]
    private partial void LogPublishFailed(string schedule, string slot, string subject, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning,
        Message = "resending {Count} message(s) from {Schedule} slot={Slot} on: NATS did not confirm them before the connection dropped")]
    private partial void LogResending(int count, string schedule, string slot);
}
