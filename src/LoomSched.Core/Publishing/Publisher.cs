using Microsoft.Extensions.Logging;

namespace LoomSched.Publishing;

/// <summary>
/// The one publisher: takes batches from the <see cref="PublishBuffer"/> in order, sends them on a session of the
/// transport and settles them as their confirmations come, oldest first. A batch not confirmed goes again, from its
/// start and with every batch after it, on a new session: messages are never lost to a dropped connection, at the
/// price of duplicates (the same <c>Nats-Msg-Id</c>, which a JetStream stream drops).
/// </summary>
/// <remarks>
/// Confirmations are pipelined: up to <see cref="MaxInFlight"/> batches are out at once, so the publisher never idles
/// for a round trip while messages wait. Everything here runs on the publisher's own task.
/// </remarks>
public sealed partial class Publisher
{
    /// <summary>At most this many batches wait for their confirmation at once.</summary>
    public const int MaxInFlight = 16;

    /// <summary>How often a publisher with messages waiting looks whether the link is back.</summary>
    private static readonly TimeSpan OpenPoll = TimeSpan.FromMilliseconds(20);

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);

    private readonly PublishBuffer _buffer;
    private readonly IPublishTransport _transport;
    private readonly TimeProvider _time;
    private readonly ILogger _log;

    /// <param name="buffer">Where the messages wait, and are counted.</param>
    /// <param name="transport">Where they go, and how they are confirmed.</param>
    /// <param name="time">The clock of the pauses between attempts and of the polls for the link.</param>
    /// <param name="log">Where resends are said.</param>
    public Publisher(PublishBuffer buffer, IPublishTransport transport, TimeProvider time, ILogger log)
    {
        _buffer = buffer;
        _transport = transport;
        _time = time;
        _log = log;
    }

    /// <summary>
    /// Runs until the buffer is closed and everything in it settled, or until <paramref name="stop"/> (the end of the
    /// shutdown grace: what is left stays pending, counted as abandoned by the caller).
    /// </summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var window = new Queue<PublishBatch>(); // sent, awaiting confirmation, oldest first
        var unsent = new List<PublishBatch>(); // taken, to send (again) in this order
        PublishSession? session = null;
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
                        // this batch and those after it are counted as abandoned.
                        throw new OperationCanceledException(stop);
                    }
                    // A confirmation that failed in a way of its own (not expected) counts as not confirmed: sent again.
                    if (head.Confirm.IsCompletedSuccessfully && head.Confirm.Result)
                    {
                        _transport.Confirmed(head);
                        _buffer.Settle(head);
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
                    _buffer.CountResent(count);
                    // Attempts 1, 2, 4, 8 ... of one failing stretch are logged: a link that stays away does not
                    // flood the log, and the count says how long it has been.
                    if ((++failures & (failures - 1)) == 0)
                    {
                        LogResending(count, head.Messages[0].ScheduleName, head.Messages[0].ScheduledFor, failures,
                            head.Failure ?? "the connection dropped or did not confirm in time");
                    }
                    EndSession(ref session);
                    // Never spin on a connection or a stream that keeps failing.
                    await Task.Delay(retryDelay, _time, stop).ConfigureAwait(false);
                    retryDelay = TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, MaxRetryDelay.Ticks));
                }
                if (window.Count == 0 && (session is { IsBroken: true } || unsent.Count == 0))
                {
                    // A session lives while its batches are out: the client ties a timer to its token at every call,
                    // and a session kept across idle times would gather them.
                    EndSession(ref session);
                }
                if (unsent.Count == 0 && window.Count < MaxInFlight && _buffer.TakeBatch() is { } taken)
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
                            await _transport.ReadyAsync(unsent[0], stop).ConfigureAwait(false);
                            session = _transport.BeginSession(stop);
                        }
                        continue;
                    }
                    var batch = unsent[0];
                    if (await _transport.SendAsync(batch, session, stop).ConfigureAwait(false))
                    {
                        unsent.RemoveAt(0);
                        _buffer.Written(batch);
                        if (batch.Messages.Count == 0)
                        {
                            _transport.Confirmed(batch); // every message of it was refused
                            _buffer.Settle(batch);
                        }
                        else
                        {
                            batch.Confirm = _transport.ConfirmAsync(batch, session, stop);
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
                    if (unsent.Count == 0 && window.Count < MaxInFlight && _buffer.ArrivalSignal() is { } arrival)
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
                if (!await _buffer.WaitToTakeAsync(stop).ConfigureAwait(false))
                {
                    return; // closed and empty: everything is confirmed
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutdown grace ran out; what is left stays pending and is counted as abandoned.
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
            _buffer.Stopped();
        }
    }

    private async Task WaitForOpenAsync(CancellationToken stop)
    {
        // Polled only while the link is away and messages wait: the client's own wait is cancelled by every
        // disconnect, and a poll is simpler to get right than re-arming it.
        while (!_transport.IsOpen)
        {
            await Task.Delay(OpenPoll, _time, stop).ConfigureAwait(false);
        }
    }

    private void EndSession(ref PublishSession? session)
    {
        if (session is null)
        {
            return;
        }
        _transport.EndSession(session);
        session.Cancel();
        session.Dispose();
        session = null;
    }

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning,
        Message = "resending {Count} message(s) from {Schedule} slot={Slot} on (attempt {Attempt}): {Reason}")]
    private partial void LogResending(int count, string schedule, string slot, long attempt, string reason);

    [LoggerMessage(EventId = 24, Level = LogLevel.Warning,
        Message = "the publisher was cut by the end of the shutdown grace with {Error}: {Reason}; unconfirmed messages count as abandoned")]
    private partial void LogStoppedWithError(string error, string reason);

    [LoggerMessage(EventId = 23, Level = LogLevel.Information, Message = "messages confirmed again after {Attempts} failed attempt(s)")]
    private partial void LogConfirmedAgain(long attempts);
}
