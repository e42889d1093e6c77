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
internal sealed partial class NatsDispatchPort : IDispatchPort, IAsyncDisposable
{
    private static readonly NatsRawSerializer<ReadOnlyMemory<byte>> Raw = NatsRawSerializer<ReadOnlyMemory<byte>>.Default;

    private readonly INatsConnection _connection;
    private readonly Channel<DispatchMessage> _buffer;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _publisher;
    private long _published;
    private long _dropped;
    private long _publishErrors;
    private int _queued;

    public NatsDispatchPort(INatsConnection connection, int maxPending, ILogger log)
    {
        _connection = connection;
        _log = log;
        Capacity = Math.Max(1, maxPending);
        _buffer = Channel.CreateBounded<DispatchMessage>(new BoundedChannelOptions(Capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _publisher = Task.Run(PublishLoopAsync);
    }

    public int Capacity { get; }
    public long Published => Interlocked.Read(ref _published);
    public long Dropped => Interlocked.Read(ref _dropped);
    public long PublishErrors => Interlocked.Read(ref _publishErrors);
    public int Pending => Volatile.Read(ref _queued);

    public async ValueTask PublishAsync(DispatchMessage message, CancellationToken cancellationToken)
    {
        if (_buffer.Writer.TryWrite(message))
        {
            Interlocked.Increment(ref _queued);
            return;
        }
        if (_connection.ConnectionState == NatsConnectionState.Open)
        {
            await _buffer.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _queued);
            return;
        }
        long dropped = Interlocked.Increment(ref _dropped);
        // One line per power of two keeps a long outage from flooding the log while still saying how bad it is.
        if ((dropped & (dropped - 1)) == 0)
        {
            LogDropped(message.ScheduleName, message.ScheduledFor, Capacity, dropped);
        }
    }

    /// <summary>Waits up to <paramref name="grace"/> for the buffer to drain and NATS to flush; returns what was left.</summary>
    public async Task<int> FlushAsync(TimeSpan grace)
    {
        _buffer.Writer.TryComplete();
        try
        {
            await _publisher.WaitAsync(grace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        if (_connection.ConnectionState == NatsConnectionState.Open)
        {
            try
            {
                using var flush = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                await _connection.PingAsync(flush.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or NatsException)
            {
            }
        }
        return Pending;
    }

    public async ValueTask DisposeAsync()
    {
        _buffer.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _publisher.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    private async Task PublishLoopAsync()
    {
        var token = _stop.Token;
        await foreach (var message in _buffer.Reader.ReadAllAsync(token).ConfigureAwait(false))
        {
            var headers = new NatsHeaders
            {
                ["Loom-Schedule"] = message.ScheduleName,
                ["Loom-Scheduled-For"] = message.ScheduledFor,
                ["Nats-Msg-Id"] = message.MessageId,
            };
            try
            {
                await _connection.PublishAsync(message.Subject, message.Body, headers, serializer: Raw, cancellationToken: token)
                    .ConfigureAwait(false);
                Interlocked.Increment(ref _published);
            }
            catch (NatsException ex)
            {
                // The client waits through reconnects by itself; an exception here is a refused message
                // (e.g. over max_payload): retrying cannot help, so it is counted and logged.
                Interlocked.Increment(ref _publishErrors);
                LogPublishFailed(message.ScheduleName, message.ScheduledFor, message.Subject, ex.Message);
            }
            Interlocked.Decrement(ref _queued);
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning,
        Message = "dropped {Schedule} slot={Slot}: NATS is away and the buffer of {Capacity} messages (max_pending) is full; dropped so far: {Dropped}")]
    private partial void LogDropped(string schedule, string slot, int capacity, long dropped);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error,
        Message = "publish failed {Schedule} slot={Slot} subject={Subject}: {Reason}")]
    private partial void LogPublishFailed(string schedule, string slot, string subject, string reason);
}
