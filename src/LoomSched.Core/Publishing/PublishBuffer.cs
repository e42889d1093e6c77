using System.Diagnostics;
using System.Threading.Channels;
using LoomSched.Dispatch;
using Microsoft.Extensions.Logging;

namespace LoomSched.Publishing;

/// <summary>
/// The messages between the engine and the wire: accepted in order up to <c>max_pending</c>, given out in batches to
/// the one publisher, and counted until they are confirmed, refused or dropped. While the link is up a full buffer
/// slows the fire down (back-pressure); while it is away, what does not fit is dropped, counted and logged.
/// </summary>
/// <remarks>
/// A message counts against <c>max_pending</c> until confirmed, so the bound covers everything not yet known to be
/// delivered. Engine threads accept; the publisher takes, settles and counts: the shared counts live under one lock.
/// </remarks>
public sealed partial class PublishBuffer : IDisposable
{
    /// <summary>At most this many messages go out, and are confirmed, together.</summary>
    /// <remarks>Each batch costs a confirmation round trip and the wake-ups around it: a big fan-out pays that per
    /// thousand messages rather than per few hundred (the benchmarks' README has the figures).</remarks>
    public const int BatchSize = 1024;

    /// <summary>How often a fire waiting for room looks again whether the link went away (then it drops).</summary>
    private static readonly TimeSpan SpaceRecheck = TimeSpan.FromMilliseconds(100);

    private readonly Channel<DispatchMessage> _queue;
    private readonly Func<bool> _isOpen;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Lock _gate = new();

    // Under _gate: engine threads and the publisher both change them.
    private readonly List<(long Through, TaskCompletionSource Done)> _sentWaiters = [];
    private TaskCompletionSource _spaceFreed = NewSignal();
    private TaskCompletionSource? _arrival;
    private bool _closed;
    private bool _stopped;
    private int _occupied; // queued + sent but unconfirmed: what max_pending bounds
    private long _accepted;
    private long _settledThrough;

    // The publisher's own; others only read them.
    private readonly ManualResetEventSlim _written = new(); // set when the publisher has handed a batch to the link
    private long _writtenThrough; // how many taken messages it has handed to the link
    private long _taken;

    // Counts anyone reads (Interlocked).
    private long _published;
    private long _dropped;
    private long _publishErrors;
    private long _resent;

    /// <param name="maxPending">How many messages may wait unconfirmed (<c>max_pending</c>).</param>
    /// <param name="isOpen">Whether the link is up: a full buffer then waits for room instead of dropping.</param>
    /// <param name="time">The clock of the wait for room.</param>
    /// <param name="log">Where drops are said.</param>
    public PublishBuffer(int maxPending, Func<bool> isOpen, TimeProvider time, ILogger log)
    {
        Capacity = Math.Max(1, maxPending);
        _isOpen = isOpen;
        _time = time;
        _log = log;
        // Unbounded: the bound is _occupied (queued + sent but unconfirmed), checked under _gate.
        _queue = Channel.CreateUnbounded<DispatchMessage>(new UnboundedChannelOptions { SingleReader = true });
    }

    /// <summary>How many messages may wait unconfirmed (<c>max_pending</c>).</summary>
    public int Capacity { get; }

    /// <summary>Messages confirmed.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Messages refused because the buffer was full while the link was away.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Messages refused for good by the link (too large, not permitted, no stream, ...).</summary>
    public long PublishErrors => Interlocked.Read(ref _publishErrors);

    /// <summary>Messages sent a second time because they were not confirmed on the session they went out on.</summary>
    public long Resent => Interlocked.Read(ref _resent);

    /// <summary>Messages accepted and not yet confirmed, refused or abandoned.</summary>
    public int Pending => Volatile.Read(ref _occupied);

    /// <summary>Takes one message, waiting for room while the link is up; dropped (and counted) when it is away.</summary>
    public ValueTask AcceptAsync(DispatchMessage message, CancellationToken cancellationToken)
    {
        var accepting = AcceptAsync(default, message, cancellationToken);
        return accepting.IsCompletedSuccessfully ? ValueTask.CompletedTask : new ValueTask(accepting.AsTask());
    }

    /// <summary>Takes several messages, in order, as <see cref="AcceptAsync(DispatchMessage, CancellationToken)"/> does each.</summary>
    public ValueTask<int> AcceptAsync(ArraySegment<DispatchMessage> messages, CancellationToken cancellationToken) =>
        AcceptAsync(messages, null, cancellationToken);

    /// <summary>
    /// Takes what fits now (never drops), then, while the link is up, waits until the publisher has handed them to
    /// it. The caller's thread blocks meanwhile, which is the point: on a small VM the publisher, woken by the
    /// caller, is queued on the caller's core and would otherwise wait there until the caller's own work is done.
    /// </summary>
    public int TryAcceptNow(ReadOnlySpan<DispatchMessage> messages, TimeSpan untilWritten)
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
                _queue.Writer.TryWrite(messages[i]);
            }
            if (room == 0)
            {
                return 0;
            }
            through = Admitted(room);
        }
        if (untilWritten > TimeSpan.Zero && _isOpen())
        {
            // A blocking wait of a few milliseconds at most: measured on the machine's clock, not the fake one.
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
    /// Takes <paramref name="one"/>, or else <paramref name="many"/>: as many at once as there is room for. Returns how
    /// many it took (accepted, or dropped while the link is away); throws when the buffer closed before it took any.
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
                        _queue.Writer.TryWrite(one ?? many[taken + i]);
                    }
                    Admitted(room);
                    taken += room;
                    continue;
                }
                if (!_isOpen())
                {
                    break;
                }
                if (_spaceFreed.Task.IsCompleted)
                {
                    _spaceFreed = NewSignal();
                }
                spaceFreed = _spaceFreed.Task;
            }
            // Back-pressure while the link is up. The wait re-checks the link now and then, so a fire that began
            // waiting while it was up drops instead of stalling once it goes away.
            try
            {
                await spaceFreed.WaitAsync(SpaceRecheck, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException) when (taken > 0)
            {
                // The fire is cut (shutdown) after some of the messages went in: those are the buffer's to count.
                return taken;
            }
        }
        for (; taken < count; taken++)
        {
            var message = one ?? many[taken];
            message.Dropped = true;
            long dropped = Interlocked.Increment(ref _dropped);
            // One line per power of two keeps a long outage from flooding the log while still saying how bad it is.
            if ((dropped & (dropped - 1)) == 0)
            {
                LogDropped(message.ScheduleName, message.ScheduledFor, Capacity, dropped);
            }
        }
        return taken;
    }

    /// <summary>Under <c>_gate</c>: counts messages just queued and wakes the publisher; returns how many were ever accepted.</summary>
    private long Admitted(int count)
    {
        _occupied += count;
        _accepted += count;
        _arrival?.TrySetResult();
        _arrival = null;
        return _accepted;
    }

    /// <summary>Completes when every message accepted before the call has been confirmed or refused for good.</summary>
    public ValueTask WhenSentAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (_settledThrough >= _accepted)
            {
                return ValueTask.CompletedTask;
            }
            if (_closed && _stopped)
            {
                return ValueTask.FromException(new OperationCanceledException("the publish buffer is closed for shutdown"));
            }
            // Callers that come while nothing new was accepted share one signal: while the link is away and the
            // buffer is full, the engine asks at every instant, and the list must not grow with the outage.
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

    /// <summary>Stops accepting: what is queued still goes out, and the publisher ends once it is settled.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            _queue.Writer.TryComplete();
        }
    }

    /// <summary>The publisher's: up to <see cref="BatchSize"/> messages in the order they were accepted; null when none wait.</summary>
    internal PublishBatch? TakeBatch()
    {
        List<DispatchMessage>? messages = null;
        while ((messages?.Count ?? 0) < BatchSize && _queue.Reader.TryRead(out var next))
        {
            (messages ??= new List<DispatchMessage>(BatchSize)).Add(next);
        }
        if (messages is null)
        {
            return null;
        }
        _taken += messages.Count;
        return new PublishBatch(messages, _taken);
    }

    /// <summary>The publisher's: waits until a message can be taken; false once the buffer is closed and empty.</summary>
    internal ValueTask<bool> WaitToTakeAsync(CancellationToken stop) => _queue.Reader.WaitToReadAsync(stop);

    /// <summary>
    /// The publisher's: completes when a message is accepted; completed already when one waits. Null once the buffer
    /// is closed and empty. (A second <c>WaitToReadAsync</c> on the single-reader queue while the first is pending
    /// would cancel the first: this signal is the buffer's own.)
    /// </summary>
    internal Task? ArrivalSignal()
    {
        lock (_gate)
        {
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

    /// <summary>The publisher's: the batch is handed to the link; a caller of <see cref="TryAcceptNow"/> may go on.</summary>
    internal void Written(PublishBatch batch)
    {
        if (batch.Through > _writtenThrough)
        {
            Volatile.Write(ref _writtenThrough, batch.Through);
            _written.Set();
        }
    }

    /// <summary>Counts a message refused for good (said by the caller) and frees its place.</summary>
    public void CountRefused()
    {
        Interlocked.Increment(ref _publishErrors);
        lock (_gate)
        {
            _occupied--;
            _spaceFreed.TrySetResult();
        }
    }

    /// <summary>The publisher's: these messages go again after a failed confirmation.</summary>
    internal void CountResent(int count) => Interlocked.Add(ref _resent, count);

    /// <summary>
    /// The publisher's: the batch is confirmed. Its messages not refused meanwhile count as published, their places
    /// free up, their bodies' memory may be reused, and waiters up to it go on.
    /// </summary>
    internal void Settle(PublishBatch batch)
    {
        foreach (var message in batch.Messages)
        {
            message.ReleaseBody(); // never read again: its memory may carry later messages
        }
        int published = batch.Messages.Count - batch.RefusedCount;
        Interlocked.Add(ref _published, published);
        List<TaskCompletionSource>? done = null;
        lock (_gate)
        {
            _occupied -= published;
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

    /// <summary>The publisher's: it ended; whoever waits for a confirmation is told it will not come.</summary>
    internal void Stopped()
    {
        List<TaskCompletionSource> failed;
        lock (_gate)
        {
            _stopped = true;
            failed = [.. _sentWaiters.Select(w => w.Done)];
            _sentWaiters.Clear();
        }
        failed.ForEach(d => d.TrySetException(new OperationCanceledException("the publisher stopped before the message was confirmed")));
    }

    /// <inheritdoc />
    public void Dispose() => _written.Dispose();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning,
        Message = "dropped {Schedule} slot={Slot}: NATS is away and the buffer of {Capacity} messages (max_pending) is full; dropped so far: {Dropped}")]
    private partial void LogDropped(string schedule, string slot, int capacity, long dropped);
}
