using System.Diagnostics;
using System.Globalization;
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
/// <para>
/// NATS.Client.Core's <c>PublishAsync</c> completes once the message is in the client's write buffer, not when
/// the server has it: what is still in that buffer (or in the socket) when the connection dies is gone, and the
/// call does not fail. So a message leaves this port only when it is confirmed. By default (<c>publish: core</c>)
/// the publisher hands a batch to the client and sends a PING after it: the PONG on the same connection (the
/// server answers in order) confirms every message before it. With <c>publish: jetstream</c> every message goes
/// out with a reply subject, and the stream that captures its subject confirms it with a PubAck: only then is it
/// stored, replicated where the stream is, and safe from the loss of the NATS node it went through.
/// </para>
/// <para>
/// Confirmations are pipelined: up to <see cref="MaxInFlight"/> batches are out at once, so the publisher never
/// idles for a round trip while messages wait. Batches are confirmed in order. A batch not confirmed (the
/// connection dropped, no answer in time, a stream without a leader) is sent again from its start, together with
/// every batch after it, on the next session. The client's hook before each connection attempt cancels the
/// session's token, so a publish waiting inside the client fails at once instead of going out on the new
/// connection. What the client already held in its write buffer it does send on the new connection, before the
/// re-send: around a reconnect, messages may arrive out of order (never lost). The price of the re-send is
/// duplicates: messages that did reach the server go again. Each carries the same <c>Nats-Msg-Id</c>, so a
/// JetStream stream drops the copy; core subscribers may see it twice. A message counts against
/// <c>max_pending</c> until confirmed, so the bound covers everything not yet known to be delivered.
/// </para>
/// </remarks>
internal sealed partial class NatsDispatchPort : IDispatchPort, IAsyncDisposable
{
    private const int BatchSize = 256;
    private const int MaxInFlight = 16;
    private static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan OpenPoll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly NatsRawSerializer<ReadOnlyMemory<byte>> Raw = NatsRawSerializer<ReadOnlyMemory<byte>>.Default;

    private readonly INatsConnection _connection;
    private readonly Channel<DispatchMessage> _buffer;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _publisher;
    private readonly Func<(string Host, int Port), ValueTask<(string Host, int Port)>>? _previousHook;
    private readonly StreamAcks? _acks;
    private readonly List<(long Through, TaskCompletionSource Done)> _sentWaiters = [];
    private readonly NatsHeaders _headers = []; // the publisher's own (SendAsync)
    private readonly ManualResetEventSlim _written = new(); // set when the publisher has handed a batch to the client
    private long _writtenThrough; // the publisher's: how many taken messages it has handed to the client
    private TaskCompletionSource _spaceFreed = NewSignal();
    private TaskCompletionSource? _arrival;
    private Session? _session;
    private bool _closed;
    private int _occupied;
    private long _accepted;
    private long _settledThrough;
    private long _taken;
    private long _published;
    private readonly Dictionary<string, int> _denied = new(StringComparer.Ordinal); // under _gate: see OnPublishDenied
    private long _dropped;
    private long _publishErrors;
    private long _resent;

    /// <param name="connection">The daemon's connection.</param>
    /// <param name="maxPending">How many messages may wait unconfirmed (<c>max_pending</c>).</param>
    /// <param name="streamAcks">Confirm each message by the PubAck of the JetStream stream on its subject.</param>
    /// <param name="log">Where drops, refusals and resends are said.</param>
    public NatsDispatchPort(INatsConnection connection, int maxPending, bool streamAcks, ILogger log)
    {
        _connection = connection;
        _log = log;
        Capacity = Math.Max(1, maxPending);
        // Unbounded: the bound is _occupied (queued + sent but unconfirmed), checked under _gate.
        _buffer = Channel.CreateUnbounded<DispatchMessage>(new UnboundedChannelOptions { SingleReader = true });
        _previousHook = connection.OnConnectingAsync;
        connection.OnConnectingAsync = OnConnectingAsync;
        _acks = streamAcks ? new StreamAcks(this, _stop.Token) : null;
        _publisher = Task.Run(PublishLoopAsync);
    }

    public int Capacity { get; }

    /// <summary>True when messages count as sent only once a JetStream stream acknowledged them.</summary>
    public bool StreamAcknowledged => _acks is not null;

    /// <summary>Messages confirmed (by the server, or by the stream with <c>publish: jetstream</c>).</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Messages refused because the buffer was full while NATS was away.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Messages NATS or the stream refused outright (over max_payload, no stream on the subject, ...).</summary>
    public long PublishErrors => Interlocked.Read(ref _publishErrors);

    /// <summary>Messages sent a second time because they were not confirmed on the connection they went out on.</summary>
    public long Resent => Interlocked.Read(ref _resent);

    /// <summary>Messages accepted and not yet confirmed, refused or abandoned.</summary>
    public int Pending => Volatile.Read(ref _occupied);

    private bool IsOpen => _connection.ConnectionState == NatsConnectionState.Open;

    public ValueTask PublishAsync(DispatchMessage message, CancellationToken cancellationToken)
    {
        var accepting = AcceptAsync(default, message, cancellationToken);
        return accepting.IsCompletedSuccessfully ? ValueTask.CompletedTask : new ValueTask(accepting.AsTask());
    }

    public ValueTask<int> PublishAsync(ArraySegment<DispatchMessage> messages, CancellationToken cancellationToken) =>
        AcceptAsync(messages, null, cancellationToken);

    /// <summary>
    /// Takes what fits in the buffer now (NATS up or away, as <see cref="AcceptAsync"/> does; never drops), then, while
    /// NATS is up, waits until the publisher has handed them to the client. The caller's thread blocks meanwhile,
    /// which is the point: on a small VM the publisher, woken by the caller, is queued on the caller's core and would
    /// otherwise wait there until the caller's own work is done.
    /// </summary>
    public int TryPublishNow(ReadOnlySpan<DispatchMessage> messages, TimeSpan untilWritten)
    {
        int room;
        long through;
        lock (_gate)
        {
            if (_closed)
            {
                return 0;
            }
            room = Math.Max(Math.Min(Capacity - _occupied, messages.Length), 0);
            // Behind a backlog (a big fan-out going out) the wait would be for the backlog: none then.
            if (Volatile.Read(ref _taken) < _accepted)
            {
                untilWritten = TimeSpan.Zero;
            }
            for (int i = 0; i < room; i++)
            {
                _buffer.Writer.TryWrite(messages[i]);
            }
            if (room == 0)
            {
                return 0;
            }
            _occupied += room;
            _accepted += room;
            through = _accepted;
            _arrival?.TrySetResult();
            _arrival = null;
        }
        if (untilWritten > TimeSpan.Zero && IsOpen)
        {
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _writtenThrough) < through)
            {
                // Reset, then look again: a batch written in between has set it, or is seen now.
                _written.Reset();
                var left = untilWritten - Stopwatch.GetElapsedTime(start);
                if (Volatile.Read(ref _writtenThrough) >= through || left <= TimeSpan.Zero || !_written.Wait(left))
                {
                    break;
                }
            }
        }
        return room;
    }

    /// <summary>
    /// Takes <paramref name="one"/>, or else <paramref name="many"/>, into the buffer: as many at once as there is room
    /// for. Returns how many it took (accepted, or dropped while NATS is away); throws when the buffer closed before
    /// it took any.
    /// </summary>
    private async ValueTask<int> AcceptAsync(ArraySegment<DispatchMessage> many, DispatchMessage? one, CancellationToken cancellationToken)
    {
        int count = one is null ? many.Count : 1;
        int taken = 0;
        while (taken < count)
        {
            Task spaceFreed;
            lock (_gate)
            {
                if (_closed)
                {
                    // Shutting down: the fire is being cut; the engine counts what is left as abandoned.
                    return taken > 0 ? taken : throw new OperationCanceledException("the publish buffer is closed for shutdown");
                }
                int room = Math.Min(Capacity - _occupied, count - taken);
                if (room > 0)
                {
                    for (int i = 0; i < room; i++)
                    {
                        _buffer.Writer.TryWrite(one ?? many[taken + i]);
                    }
                    _occupied += room;
                    _accepted += room;
                    taken += room;
                    _arrival?.TrySetResult();
                    _arrival = null;
                    continue;
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
            catch (OperationCanceledException) when (taken > 0)
            {
                // The fire is cut (shutdown) after some of the messages went in: those are the port's to count.
                return taken;
            }
        }
        for (; taken < count; taken++)
        {
            var message = one ?? many[taken];
            long dropped = Interlocked.Increment(ref _dropped);
            // One line per power of two keeps a long outage from flooding the log while still saying how bad it is.
            if ((dropped & (dropped - 1)) == 0)
            {
                LogDropped(message.ScheduleName, message.ScheduledFor, Capacity, dropped);
            }
        }
        return taken;
    }

    /// <summary>
    /// Completes when every message accepted before the call has left the port: confirmed, or refused for good.
    /// The slot state of replicas is marked <c>done</c> only after this.
    /// </summary>
    public ValueTask WhenSentAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (_settledThrough >= _accepted)
            {
                return ValueTask.CompletedTask;
            }
            if (_closed && _publisher.IsCompleted)
            {
                return ValueTask.FromException(new OperationCanceledException("the publish buffer is closed for shutdown"));
            }
            // Callers that come while nothing new was accepted share one signal: while NATS is away and the buffer
            // is full, the engine's "fired" lines ask at every instant, and the list must not grow with the outage.
            if (_sentWaiters.Count > 0 && _sentWaiters[^1].Through == _accepted)
            {
                done = _sentWaiters[^1].Done;
            }
            else
            {
                done = NewSignal();
                _sentWaiters.Add((_accepted, done));
            }
        }
        return new ValueTask(done.Task.WaitAsync(cancellationToken));
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
        if (_acks is not null)
        {
            await _acks.DisposeAsync().ConfigureAwait(false);
        }
        _stop.Dispose();
        _written.Dispose();
    }

    /// <summary>
    /// The one publisher. Batches move from the buffer to <c>unsent</c>, are sent on the current session and wait
    /// in <c>window</c> for their confirmation, oldest first; a batch that fails its confirmation goes back to the
    /// front of <c>unsent</c> with every batch after it, and they are sent again, in order, on a new session.
    /// </summary>
    private async Task PublishLoopAsync()
    {
        var stop = _stop.Token;
        var window = new Queue<Batch>();
        var unsent = new List<Batch>();
        Session? session = null;
        bool inputOpen = true;
        var retryDelay = OpenPoll;
        long failures = 0;
        try
        {
            while (true)
            {
                // Settle what is confirmed (or failed) at the head of the window.
                while (window.TryPeek(out var head) && head.Confirm!.IsCompleted)
                {
                    window.Dequeue();
                    if (!head.Confirm.IsCompletedSuccessfully && stop.IsCancellationRequested)
                    {
                        // A confirmation cut by the end of the shutdown grace (its task is cancelled, and .Result would
                        // throw an AggregateException, not a cancellation): the loop ends here, and the messages of
                        // this batch and those after it are counted as abandoned (FlushAsync).
                        throw new OperationCanceledException(stop);
                    }
                    // A confirmation that failed in a way of its own (not expected) counts as not confirmed: sent again.
                    if (head.Confirm.IsCompletedSuccessfully && head.Confirm.Result)
                    {
                        Settle(head);
                        if (failures > 0)
                        {
                            LogConfirmedAgain(failures);
                            failures = 0;
                        }
                        retryDelay = OpenPoll;
                        continue;
                    }
                    unsent.InsertRange(0, [head, .. window]);
                    window.Clear();
                    int count = unsent.Sum(b => b.Messages.Count);
                    Interlocked.Add(ref _resent, count);
                    // Attempts 1, 2, 4, 8 ... of one failing stretch are logged: a stream that stays away does not
                    // flood the log, and the count says how long it has been.
                    if ((++failures & (failures - 1)) == 0)
                    {
                        LogResending(count, head.Messages[0].ScheduleName, head.Messages[0].ScheduledFor, failures,
                            head.Failure ?? "the connection dropped or did not confirm in time");
                    }
                    EndSession(ref session);
                    // Never spin on a connection or a stream that keeps failing.
                    await Task.Delay(retryDelay, stop).ConfigureAwait(false);
                    retryDelay = TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, MaxRetryDelay.Ticks));
                }
                if (window.Count == 0 && (session is { IsBroken: true } || unsent.Count == 0))
                {
                    // A session lives while its batches are out: the client ties a timer to its token at every call,
                    // and a session kept across idle times would gather them.
                    EndSession(ref session);
                }
                if (inputOpen && unsent.Count == 0 && window.Count < MaxInFlight && TakeBatch() is { } taken)
                {
                    unsent.Add(taken);
                }

                if (unsent.Count > 0 && window.Count < MaxInFlight && session is not { IsBroken: true })
                {
                    if (session is null)
                    {
                        // A new session starts only when everything sent on the old one is settled, so that a
                        // resend always goes out before what followed it.
                        if (window.Count == 0)
                        {
                            await WaitForOpenAsync(stop).ConfigureAwait(false);
                            if (_acks is not null)
                            {
                                await _acks.ReadyAsync(stop).ConfigureAwait(false);
                            }
                            session = BeginSession(stop);
                        }
                        continue;
                    }
                    var batch = unsent[0];
                    if (await SendAsync(batch, session, stop).ConfigureAwait(false))
                    {
                        unsent.RemoveAt(0);
                        if (batch.Through > _writtenThrough)
                        {
                            Volatile.Write(ref _writtenThrough, batch.Through);
                            _written.Set();
                        }
                        if (batch.Messages.Count == 0)
                        {
                            Settle(batch); // every message of it was refused
                        }
                        else
                        {
                            batch.Confirm = _acks is null ? ConfirmByPingAsync(session, stop) : _acks.ConfirmAsync(batch, session, stop);
                            window.Enqueue(batch);
                        }
                    }
                    else
                    {
                        session.IsBroken = true;
                    }
                    continue;
                }

                if (window.Count > 0)
                {
                    var head = window.Peek().Confirm!;
                    if (inputOpen && unsent.Count == 0 && window.Count < MaxInFlight && ArrivalSignal() is { } arrival)
                    {
                        // Send what comes meanwhile; do not wait out a round trip while messages wait.
                        await Task.WhenAny(head, arrival).ConfigureAwait(false);
                    }
                    else
                    {
                        await head.ConfigureAwait(false);
                    }
                    continue;
                }
                if (unsent.Count > 0)
                {
                    continue;
                }
                if (!inputOpen || !await _buffer.Reader.WaitToReadAsync(stop).ConfigureAwait(false))
                {
                    return; // closed and empty: everything is confirmed
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutdown grace ran out; what is left is counted by FlushAsync as abandoned.
        }
        catch (Exception ex) when (stop.IsCancellationRequested)
        {
            // The same, but the client answered the cut with an error of its own: said, and the daemon still exits 0
            // with every message counted (what was not confirmed is abandoned).
            LogStoppedWithError(ex.GetType().Name, ex.Message);
        }
        finally
        {
            EndSession(ref session);
            FailSentWaiters();
        }
    }

    /// <summary>
    /// Completes when a message is accepted; completed already when one waits. Null once the buffer is closed and
    /// empty: then only confirmations are left to wait for. (A second <c>WaitToReadAsync</c> on the single-reader
    /// buffer while the first is pending would cancel the first: this signal is the port's own.)
    /// </summary>
    private Task? ArrivalSignal()
    {
        lock (_gate)
        {
            // _taken is the publisher's own count (this runs on the publisher): accepted and not yet taken means waiting.
            if (_accepted > _taken)
            {
                return Task.CompletedTask;
            }
            if (_closed)
            {
                return null;
            }
            return (_arrival ??= NewSignal()).Task;
        }
    }

    private Batch? TakeBatch()
    {
        List<DispatchMessage>? messages = null;
        while ((messages?.Count ?? 0) < BatchSize && _buffer.Reader.TryRead(out var next))
        {
            (messages ??= new List<DispatchMessage>(BatchSize)).Add(next);
        }
        if (messages is null)
        {
            return null;
        }
        _taken += messages.Count;
        return new Batch(messages, _taken);
    }

    /// <summary>
    /// Ties the next batches to the open connection: the session's token is cancelled by the client's reconnect
    /// hook, which runs before any new connection exists. Null when the connection changed meanwhile (try again).
    /// </summary>
    private Session? BeginSession(CancellationToken stop)
    {
        // A new connection brings a new INFO, hence a new ServerInfo object: it tells the connections apart.
        var info = _connection.ServerInfo;
        var session = new Session(info, stop);
        lock (_gate)
        {
            _session = session;
            _denied.Clear(); // refusals of what a lost connection carried: it goes again, and is answered again
        }
        // Checked after registering: a drop from here on finds the session and cancels it; an earlier one shows
        // as a closed or different connection.
        if (!IsOpen || !ReferenceEquals(info, _connection.ServerInfo))
        {
            Session? gone = session;
            EndSession(ref gone);
            return null;
        }
        return session;
    }

    private void EndSession(ref Session? session)
    {
        if (session is null)
        {
            return;
        }
        lock (_gate)
        {
            if (ReferenceEquals(_session, session))
            {
                _session = null;
            }
        }
        session.Cancel();
        session.Dispose();
        session = null;
    }

    // The client's hook before every connection attempt: the connection the batches were sent on is gone. Without
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
    private async Task<bool> SendAsync(Batch batch, Session session, CancellationToken stop)
    {
        var messages = batch.Messages;
        var headers = _headers;
        string? schedule = null, slot = null;
        // Messages over the server's max_payload are said once per run of one schedule, slot and subject in the batch
        // (a fan-out whose every message is too large is thousands of them), with how many: the first, and the count.
        DispatchMessage? tooLarge = null;
        string? tooLargeReason = null;
        int tooLargeCount = 0;
        _acks?.Begin(batch);
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            // One header set serves every message: the client writes the headers out before PublishAsync returns,
            // and the next message is set only after this one's PublishAsync has completed. (A dictionary per
            // message was one of the larger allocations of a burst.)
            // The messages of a fire share their schedule and slot (the same strings): set when they change.
            if (!ReferenceEquals(message.ScheduleName, schedule))
            {
                headers["Loom-Schedule"] = schedule = message.ScheduleName;
            }
            if (!ReferenceEquals(message.ScheduledFor, slot))
            {
                headers["Loom-Scheduled-For"] = slot = message.ScheduledFor;
            }
            headers["Nats-Msg-Id"] = message.MessageId;
            try
            {
                await _connection.PublishAsync(
                        message.Subject, message.Body, headers, replyTo: _acks?.ReplySubject(batch, i), serializer: Raw,
                        cancellationToken: session.Token)
                    .ConfigureAwait(false);
            }
            catch (NatsPayloadTooLargeException ex)
            {
                // The client checks the server's max_payload before writing: retrying cannot help. The message
                // is counted, and it leaves the batch.
                Refused(message);
                if (tooLarge is not null && !(ReferenceEquals(tooLarge.ScheduleName, message.ScheduleName)
                    && ReferenceEquals(tooLarge.ScheduledFor, message.ScheduledFor) && tooLarge.Subject == message.Subject))
                {
                    SayTooLarge(tooLarge, tooLargeReason!, tooLargeCount);
                    tooLargeCount = 0;
                }
                if (tooLargeCount++ == 0)
                {
                    tooLarge = message;
                    tooLargeReason = ex.Message;
                }
                _acks?.Forget(batch, i);
                messages.RemoveAt(i--);
                message.ReleaseBody();
            }
            catch (Exception ex) when (ex is NatsException or OperationCanceledException or ObjectDisposedException && !stop.IsCancellationRequested)
            {
                // The connection went away under the write: the batch goes again on the next session.
                _acks?.End(batch);
                SayTooLarge(tooLarge, tooLargeReason, tooLargeCount);
                return false;
            }
        }
        SayTooLarge(tooLarge, tooLargeReason, tooLargeCount);
        return true;
    }

    private void SayTooLarge(DispatchMessage? first, string? reason, int count)
    {
        if (first is not null && count > 0)
        {
            LogPublishFailed(first.ScheduleName, first.ScheduledFor, first.Subject,
                count == 1 ? reason! : count.ToString(CultureInfo.InvariantCulture) + " messages refused, each over the server's max_payload; the first: " + reason);
        }
    }

    private async Task<bool> ConfirmByPingAsync(Session session, CancellationToken stop)
    {
        try
        {
            await _connection.PingAsync(session.Token).AsTask().WaitAsync(ConfirmTimeout, session.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or NatsException or OperationCanceledException or ObjectDisposedException && !stop.IsCancellationRequested)
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

    /// <summary>A message NATS or the stream refused for good: counted, logged, and it leaves the port.</summary>
    private void Refuse(DispatchMessage message, string reason)
    {
        LogPublishFailed(message.ScheduleName, message.ScheduledFor, message.Subject, reason);
        Refused(message);
    }

    /// <summary>Counts a refused message (logged by the caller) and frees its place in the buffer.</summary>
    private void Refused(DispatchMessage message)
    {
        Interlocked.Increment(ref _publishErrors);
        lock (_gate)
        {
            _occupied--;
            _spaceFreed.TrySetResult();
        }
    }

    /// <summary>
    /// The server refused a message published on <paramref name="subject"/> (<c>-ERR 'Permissions Violation for
    /// Publish to …'</c>): the message is dropped, yet the PING after it is answered. The server answers in order, so the
    /// refusals of a batch's messages come before its PONG: the batch settled next counts as many of its messages on
    /// that subject as refused (publish errors), not published.
    /// </summary>
    /// <remarks>
    /// Called on the client's reading thread: it only counts. The lines are written when the batch settles, one per
    /// run of a subject (an error line waits until it is written, and would hold up everything the server sends).
    /// </remarks>
    public void OnPublishDenied(string subject)
    {
        if (_acks is not null)
        {
            _acks.OnDenied(subject); // no PubAck will come: refused for good, rather than awaited and sent again
            return;
        }
        lock (_gate)
        {
            _denied[subject] = _denied.GetValueOrDefault(subject) + 1;
        }
    }

    /// <summary>The batch is confirmed: its messages (refusals already left) are published; waiters may go on.</summary>
    private void Settle(Batch batch)
    {
        // Refused for the user's permissions: with core publishing found here, with stream acks as they came.
        var denied = _acks is null ? TakeDenied(batch) : batch.Denied;
        batch.Denied = null;
        foreach (var message in batch.Messages)
        {
            message.ReleaseBody(); // never read again: its memory may carry later messages
        }
        int refused = _acks is null ? denied?.Count ?? 0 : 0; // those of stream acks are counted already
        int published = batch.Messages.Count - batch.RefusedByStream - refused;
        Interlocked.Add(ref _published, published);
        Interlocked.Add(ref _publishErrors, refused);
        if (denied is not null)
        {
            ReportDenied(denied);
        }
        List<TaskCompletionSource>? done = null;
        lock (_gate)
        {
            _occupied -= published + refused;
            _settledThrough = batch.Through;
            _spaceFreed.TrySetResult();
            for (int i = _sentWaiters.Count - 1; i >= 0; i--)
            {
                if (_sentWaiters[i].Through <= batch.Through)
                {
                    (done ??= []).Add(_sentWaiters[i].Done);
                    _sentWaiters.RemoveAt(i);
                }
            }
        }
        done?.ForEach(d => d.TrySetResult());
    }

    private List<DispatchMessage>? TakeDenied(Batch batch)
    {
        lock (_gate)
        {
            if (_denied.Count == 0)
            {
                return null;
            }
            List<DispatchMessage>? denied = null;
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
            return denied;
        }
    }

    /// <summary>
    /// Says which messages of a batch the server refused: a line per subject, with the count and the schedules (a
    /// thousand schedules due at once make one line, not a thousand).
    /// </summary>
    private void ReportDenied(List<DispatchMessage> denied)
    {
        foreach (var subject in denied.Select(m => m.Subject).Distinct(StringComparer.Ordinal))
        {
            var of = denied.Where(m => m.Subject == subject).ToList();
            var schedules = of.Select(m => m.ScheduleName).Distinct(StringComparer.Ordinal).ToList();
            string names = schedules.Count <= 3
                ? string.Join(", ", schedules)
                : $"{string.Join(", ", schedules.Take(3))} and {schedules.Count - 3} more";
            LogPublishDenied(subject, of.Count, names, of[0].ScheduledFor);
        }
    }

    private void FailSentWaiters()
    {
        List<TaskCompletionSource> failed;
        lock (_gate)
        {
            failed = [.. _sentWaiters.Select(w => w.Done)];
            _sentWaiters.Clear();
        }
        failed.ForEach(d => d.TrySetException(new OperationCanceledException("the publisher stopped before the message was confirmed")));
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Messages taken from the buffer together, confirmed together.</summary>
    private sealed class Batch(List<DispatchMessage> messages, long through)
    {
        public List<DispatchMessage> Messages { get; } = messages;

        /// <summary>How many messages the buffer had given out up to this batch's last one (its place in line).</summary>
        public long Through { get; } = through;

        /// <summary>The confirmation of the batch's last send: true when every message of it is confirmed.</summary>
        public Task<bool>? Confirm { get; set; }

        /// <summary>Why the confirmation failed, when a stream said so.</summary>
        public string? Failure { get; set; }

        /// <summary>Messages the stream refused for good in the last send (counted as errors, not published).</summary>
        public int RefusedByStream { get; set; }

        /// <summary>Those messages: they leave the batch before it is sent again.</summary>
        public HashSet<DispatchMessage>? Refused { get; set; }

        /// <summary>With stream acks: the messages the server refused for the user's permissions, said when it settles.</summary>
        public List<DispatchMessage>? Denied { get; set; }

        /// <summary>With stream acks: the reply number of the batch's first message in its last send.</summary>
        public long FirstReply { get; set; }

        /// <summary>With stream acks: answers still awaited in the last send.</summary>
        public int Awaiting;

        /// <summary>With stream acks: completed when every answer of the last send came (true) or one failed (false).</summary>
        public TaskCompletionSource<bool>? Answered { get; set; }
    }

    /// <summary>One connection's hold on the batches sent on it.</summary>
    private sealed class Session(INatsServerInfo? info, CancellationToken stop) : IDisposable
    {
        private readonly CancellationTokenSource _cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);

        public INatsServerInfo? Info { get; } = info;
        public CancellationToken Token => _cancel.Token;

        /// <summary>A send failed on it: nothing more goes out on it; what was sent is settled, then a new one starts.</summary>
        public bool IsBroken { get; set; }

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

    [LoggerMessage(EventId = 25, Level = LogLevel.Error,
        Message = "publish refused subject={Subject}: the server refused {Count} message(s) for this user's permissions (Permissions Violation for Publish), of {Schedules} slot={Slot}; counted in publish_errors")]
    private partial void LogPublishDenied(string subject, int count, string schedules, string slot);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning,
        Message = "resending {Count} message(s) from {Schedule} slot={Slot} on (attempt {Attempt}): {Reason}")]
    private partial void LogResending(int count, string schedule, string slot, long attempt, string reason);

    [LoggerMessage(EventId = 24, Level = LogLevel.Warning,
        Message = "the publisher was cut by the end of the shutdown grace with {Error}: {Reason}; unconfirmed messages count as abandoned")]
    private partial void LogStoppedWithError(string error, string reason);

    [LoggerMessage(EventId = 23, Level = LogLevel.Information, Message = "messages confirmed again after {Attempts} failed attempt(s)")]
    private partial void LogConfirmedAgain(long attempts);
}
