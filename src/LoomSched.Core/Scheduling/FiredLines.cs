using LoomSched.Dispatch;

namespace LoomSched.Scheduling;

/// <summary>The values of one "fired" line.</summary>
internal readonly record struct FiredLine(string Schedule, string Slot, int Messages, double LatenessMs, double DurationMs);

/// <summary>
/// The "fired" lines. Those of fires that ran on the loop's thread during its batch wait until the loop has no more
/// fires due at once, then until the port has sent the batch's messages (at most <see cref="WaitForSend"/>): formatting
/// a line costs about as much as such a fire, and done at once it would delay every later fire of the same instant.
/// The batch is the loop's; <see cref="Add"/> may be called from any fire's thread.
/// </summary>
internal sealed class FiredLines(EngineLog log, IDispatchPort port, TimeProvider time)
{
    /// <summary>Past this many deferred lines the loop writes them out even while fires are still due.</summary>
    public const int MaxDeferred = 10_000;

    /// <summary>How long a batch of lines waits for its messages to be sent: while NATS is away, fires are still logged, this much later.</summary>
    private static readonly TimeSpan WaitForSend = TimeSpan.FromMilliseconds(50);

    private readonly List<FiredLine> _batch = [];
    private int _batchThread; // the loop's thread while it launches a batch; 0 otherwise
    private Task _written = Task.CompletedTask; // the last batch of lines, written in order

    /// <summary>Lines deferred so far.</summary>
    public int Count => _batch.Count;

    /// <summary>Completes when every batch handed over so far has been written.</summary>
    public Task Written => Volatile.Read(ref _written);

    /// <summary>The loop launches a batch of fires on this thread: their lines are deferred.</summary>
    public void BeginBatch()
    {
        if (log.WritesFiredLines)
        {
            _batchThread = Environment.CurrentManagedThreadId;
        }
    }

    /// <summary>The batch is launched: lines from now on are written as they come.</summary>
    public void EndBatch() => _batchThread = 0;

    /// <summary>Writes a fire's line, or defers it while the fire ran inside the loop's batch (on the loop's thread).</summary>
    public void Add(FiredLine line)
    {
        if (_batchThread == Environment.CurrentManagedThreadId)
        {
            _batch.Add(line);
            return;
        }
        log.LogFired(line);
    }

    /// <summary>
    /// Writes the deferred lines once the port has sent what it accepted so far (at most <see cref="WaitForSend"/> later),
    /// after the batches before them. When the port has nothing waiting, they are written here and now.
    /// </summary>
    public void Flush()
    {
        if (_batch.Count == 0)
        {
            return;
        }
        FiredLine[] lines = [.. _batch];
        _batch.Clear();
        Volatile.Write(ref _written, WriteWhenSentAsync(lines, _written, time.GetTimestamp()));
    }

    private async Task WriteWhenSentAsync(FiredLine[] lines, Task previous, long batchedAt)
    {
        await previous.ConfigureAwait(false);
        try
        {
            // The wait counts from the batch's own instant: while the port cannot send, later batches follow at once,
            // not 50 ms after one another (a backlog growing without end).
            var wait = WaitForSend - time.GetElapsedTime(batchedAt);
            if (wait > TimeSpan.Zero)
            {
                var sent = port.WhenSentAsync(CancellationToken.None);
                if (!sent.IsCompleted)
                {
                    await sent.AsTask().WaitAsync(wait, time).ConfigureAwait(false);
                }
            }
        }
        catch (Exception)
        {
            // Not sent in time, or the port is shutting down: the lines are written all the same.
        }
        foreach (var line in lines)
        {
            log.LogFired(line);
        }
    }
}
