using LoomSched.Control;
using LoomSched.Dispatch;
using LoomSched.Publishing;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// The core's output port on NATS: messages wait in the <see cref="PublishBuffer"/> (<c>max_pending</c>), the one
/// <see cref="Publisher"/> sends them in order through the <see cref="NatsPublishTransport"/>, and a message leaves
/// the port only once it is confirmed: by a server round trip (<c>publish: core</c>, <see cref="PingConfirmer"/>) or by
/// the stream's PubAck (<c>publish: jetstream</c>, <see cref="StreamAckConfirmer"/>).
/// </summary>
internal sealed class NatsDispatchPort : IDispatchPort, IAsyncDisposable
{
    private readonly PublishBuffer _buffer;
    private readonly IBatchConfirmer _confirmer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _publisher;

    /// <param name="connection">The daemon's connection.</param>
    /// <param name="maxPending">How many messages may wait unconfirmed (<c>max_pending</c>).</param>
    /// <param name="streamAcks">Confirm each message by the PubAck of the JetStream stream on its subject.</param>
    /// <param name="log">Where drops, refusals and resends are said.</param>
    public NatsDispatchPort(INatsConnection connection, int maxPending, bool streamAcks, ILogger log)
    {
        _buffer = new PublishBuffer(maxPending, () => connection.ConnectionState == NatsConnectionState.Open, TimeProvider.System, log);
        _confirmer = streamAcks ? new StreamAckConfirmer(connection, _buffer, log, _stop.Token) : new PingConfirmer(connection, _buffer);
        var transport = new NatsPublishTransport(connection, _confirmer, _buffer, log);
        var publisher = new Publisher(_buffer, transport, TimeProvider.System, log);
        StreamAcknowledged = streamAcks;
        _publisher = Task.Run(() => publisher.RunAsync(_stop.Token));
    }

    public int Capacity => _buffer.Capacity;

    /// <summary>True when messages count as sent only once a JetStream stream acknowledged them.</summary>
    public bool StreamAcknowledged { get; }

    /// <summary>Messages confirmed (by the server, or by the stream with <c>publish: jetstream</c>).</summary>
    public long Published => _buffer.Published;

    /// <summary>Messages refused because the buffer was full while NATS was away.</summary>
    public long Dropped => _buffer.Dropped;

    /// <summary>Messages NATS or the stream refused outright (over max_payload, no stream on the subject, ...).</summary>
    public long PublishErrors => _buffer.PublishErrors;

    /// <summary>Messages sent a second time because they were not confirmed on the connection they went out on.</summary>
    public long Resent => _buffer.Resent;

    /// <summary>Messages accepted and not yet confirmed, refused or abandoned.</summary>
    public int Pending => _buffer.Pending;

    /// <summary>The counters above, as <c>status</c> and <c>/metrics</c> report them.</summary>
    public PublishCounters Counters => new(Published, Pending, Capacity, Dropped, PublishErrors, Resent);

    public ValueTask PublishAsync(DispatchMessage message, CancellationToken cancellationToken) =>
        _buffer.AcceptAsync(message, cancellationToken);

    public ValueTask<int> PublishAsync(ArraySegment<DispatchMessage> messages, CancellationToken cancellationToken) =>
        _buffer.AcceptAsync(messages, cancellationToken);

    public int TryPublishNow(ReadOnlySpan<DispatchMessage> messages, TimeSpan untilWritten) =>
        _buffer.TryAcceptNow(messages, untilWritten);

    /// <summary>
    /// Completes when every message accepted before the call has left the port: confirmed, or refused for good.
    /// The slot state of replicas is marked <c>done</c> only after this.
    /// </summary>
    public ValueTask WhenSentAsync(CancellationToken cancellationToken) => _buffer.WhenSentAsync(cancellationToken);

    /// <summary>
    /// With <c>publish: jetstream</c>, says which of <paramref name="subjects"/> no stream captures, once
    /// <paramref name="connected"/> completes; nothing with <c>publish: core</c>.
    /// </summary>
    public Task SayMissingStreamsAsync(IEnumerable<string> subjects, Task connected, CancellationToken stop) =>
        _confirmer is StreamAckConfirmer streams ? streams.SayMissingStreamsAsync(subjects, connected, stop) : Task.CompletedTask;

    /// <summary>
    /// The server refused a message published on <paramref name="subject"/> (<c>-ERR 'Permissions Violation for
    /// Publish to …'</c>): counted as a publish error, not as published. Called on the client's reading thread.
    /// </summary>
    public void OnPublishDenied(string subject) => _confirmer.OnDenied(subject);

    /// <summary>
    /// Stops accepting messages and waits up to <paramref name="grace"/> for the buffer to be sent and confirmed;
    /// returns how many messages were left unconfirmed (abandoned).
    /// </summary>
    public async Task<int> FlushAsync(TimeSpan grace)
    {
        _buffer.Close();
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
        _buffer.Close();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _publisher.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        await _confirmer.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _buffer.Dispose();
    }
}
