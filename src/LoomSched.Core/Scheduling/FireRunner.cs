using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Expansion;

namespace LoomSched.Scheduling;

/// <summary>
/// Runs decided fires: builds their messages (or takes the ready one), claims the slot from the gate, hands the
/// messages to the port, and accounts for them in the schedule's state (under the engine's lock). Tracks the fires in
/// flight so that a shutdown can drain them.
/// </summary>
/// <remarks>
/// A fire that needs no await of its own (no expansion, no slot gate: <see cref="Fire.Inline"/>) runs on the launching
/// thread, sparing each of a slot's many small fires a thread hop. Should the port make it wait (back-pressure), the
/// rest of that fire goes on as a task, tracked like any other. Other fires run on their own task, so that one
/// schedule's expansion or publish never delays another's fire.
/// </remarks>
internal sealed class FireRunner(
    Lock gate, IDispatchPort port, TimeProvider time, ISlotGate? slotGate, ExpansionRunner expansions, FiredLines lines, EngineLog log)
{
    /// <summary>How many messages of a fire are handed to the port at once: one lock and wake-up of the publisher per chunk.</summary>
    private const int HandOverChunk = 256;

    private readonly Dictionary<Task, Fire> _inFlight = []; // under gate
    private readonly CancellationTokenSource _cancel = new();
    private long _dispatchedTotal;
    private long _abandonedTotal;

    /// <summary>Messages handed to the output port so far.</summary>
    public long DispatchedTotal => Interlocked.Read(ref _dispatchedTotal);

    /// <summary>Fires started and not yet ended.</summary>
    public int InFlight
    {
        get
        {
            lock (gate)
            {
                return _inFlight.Count;
            }
        }
    }

    public void Launch(List<Fire> fires)
    {
        foreach (var fire in fires)
        {
            Launch(fire);
        }
        fires.Clear();
    }

    /// <summary>Starts a fire; never under the lock.</summary>
    public void Launch(Fire fire)
    {
        Task task;
        if (fire.Inline)
        {
            // On this thread until something makes it wait; then it returns, and the rest runs as a task.
            task = RunAsync(fire);
            if (task.IsCompleted)
            {
                return;
            }
        }
        else
        {
            task = Task.Run(() => RunAsync(fire));
        }
        lock (gate)
        {
            _inFlight[task] = fire;
        }
        // After the registration: a task that has already ended is unregistered at once, here.
        _ = task.ContinueWith(
            static (t, self) => ((FireRunner)self!).Ended(t), this,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Lets running fires finish for up to <paramref name="grace"/>, then cancels what remains and reports how many
    /// messages were dispatched and how many were abandoned.
    /// </summary>
    public async Task<DrainResult> DrainAsync(TimeSpan grace)
    {
        Task[] running;
        lock (gate)
        {
            running = [.. _inFlight.Keys];
        }
        int cut = 0;
        if (running.Length > 0)
        {
            try
            {
                await Task.WhenAll(running).WaitAsync(grace, time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                lock (gate)
                {
                    cut = _inFlight.Count;
                }
                await _cancel.CancelAsync().ConfigureAwait(false);
                try
                {
                    await Task.WhenAll(running).WaitAsync(TimeSpan.FromMilliseconds(500), time).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // A fire stuck in user code that ignores cancellation: its unsent messages are already counted.
                }
            }
        }
        lock (gate)
        {
            // Fires that never reached their publish loop count all their messages as abandoned.
            foreach (var fire in _inFlight.Values)
            {
                Interlocked.Add(ref _abandonedTotal, fire.Remaining);
            }
        }
        // The loop's last lines (it has stopped) wait at most for their messages to be sent.
        await lines.Written.ConfigureAwait(false);
        return new DrainResult(DispatchedTotal, Interlocked.Read(ref _abandonedTotal), cut);
    }

    private void Ended(Task task)
    {
        lock (gate)
        {
            _inFlight.Remove(task);
        }
    }

    private async Task RunAsync(Fire fire)
    {
        var state = fire.State;
        try
        {
            if (fire.CatchUp is { } slots)
            {
                foreach (var slot in slots)
                {
                    await FireAsync(fire, slot).ConfigureAwait(false);
                }
            }
            else
            {
                await FireAsync(fire, fire.Slot).ConfigureAwait(false);
            }
            // Slots queued behind the fire: a catch-up run's, or those that came while a claim waited.
            while (NextQueued(state) is { } late)
            {
                await FireAsync(fire, late).ConfigureAwait(false);
            }
        }
        finally
        {
            lock (gate)
            {
                state.Running = false;
                state.Claiming = false;
                state.Backlog = null;
                state.BacklogPolicy = null;
            }
        }
    }

    private DateTimeOffset? NextQueued(ScheduleState state)
    {
        lock (gate)
        {
            while (state.Backlog is { Count: > 0 } backlog)
            {
                var slot = backlog.Dequeue();
                if (SlotPolicy.StillWanted(slot, time.GetUtcNow(), state.BacklogPolicy))
                {
                    return slot;
                }
            }
            // Empty: from now on a due slot while running is an ordinary overlap again.
            state.Backlog = null;
            state.BacklogPolicy = null;
            return null;
        }
    }

    private async Task FireAsync(Fire fire, DateTimeOffset slot)
    {
        var (state, definition, manual) = (fire.State, fire.Definition, fire.Manual);
        var token = _cancel.Token;
        int sent = 0;
        var ready = fire.Ready is { } r && r.Slot == slot ? r : null;
        fire.Ready = null;
        string slotText = ready?.Messages.SlotText ?? LoomTime.Format(slot);
        CollectedBodies? bodies = null;

        try
        {
            var slotMessages = ready?.Messages ?? fire.Builder.ForFire(definition, slot);
            if (slotGate is not null && !await ClaimAsync(slotGate, state, definition, slot, token).ConfigureAwait(false))
            {
                return;
            }
            // A handed-over message went out at the slot, before this bookkeeping: the fire started then.
            var started = ready is { Handed: true } ? ready.HandedAt : time.GetUtcNow();
            var due = manual ? slot : definition.FireTimeOf(slot); // lateness counts from the slot's jittered fire time
            lock (gate)
            {
                state.Fires++;
                state.LastSlot = slot;
                state.LastFireStartedAt = started;
                state.LastLateness = manual ? TimeSpan.Zero : started - due;
                if (!manual)
                {
                    (state.Lateness ??= new LatenessHistogram()).Record((started - due).TotalMilliseconds);
                }
            }
            bodies = ready is null ? await expansions.BodiesAsync(definition, slotMessages, slot, token).ConfigureAwait(false) : null;
            int total = bodies?.Count ?? 1;
            fire.Remaining = total;
            if (ready is { Handed: true })
            {
                sent = 1; // the port has it already
                fire.Remaining = 0;
                Dispatched(state, 1);
            }
            else if (total == 1)
            {
                token.ThrowIfCancellationRequested();
                ThrowUnlessMayPublish();
                var message = ready?.Message ?? slotMessages.Message(bodies![0], 0);
                await port.PublishAsync(message, token).ConfigureAwait(false);
                sent = 1;
                fire.Remaining = 0;
                Dispatched(state, 1, message.Dropped ? 1 : 0);
            }
            else
            {
                // A big fire's later bodies may still be building (on helper threads) while the first ones go out.
                var chunk = new DispatchMessage[Math.Min(total, HandOverChunk)];
                while (sent < total)
                {
                    token.ThrowIfCancellationRequested();
                    ThrowUnlessMayPublish();
                    int count = Math.Min(chunk.Length, total - sent);
                    await bodies!.WhenBuiltAsync(sent + count).ConfigureAwait(false);
                    for (int i = 0; i < count; i++)
                    {
                        chunk[i] = slotMessages.Message(bodies[sent + i], sent + i);
                    }
                    int taken = await port.PublishAsync(new ArraySegment<DispatchMessage>(chunk, 0, count), token).ConfigureAwait(false);
                    sent += taken;
                    fire.Remaining -= taken;
                    Dispatched(state, taken, CountDropped(chunk.AsSpan(0, taken)));
                }
                Array.Clear(chunk);
            }
            if (slotGate is not null)
            {
                // "done" only once the messages are confirmed: a replica that dies before then leaves the slot
                // "claimed", and the next leader sends it again (the stream drops what it already has).
                await port.WhenSentAsync(token).ConfigureAwait(false);
                await slotGate.CompleteAsync(definition, slot, token).ConfigureAwait(false);
            }
            var ended = time.GetUtcNow();
            lock (gate)
            {
                state.LastDuration = ended - started;
            }
            lines.Add(new FiredLine(definition.Name, slotText, sent, (started - due).TotalMilliseconds, (ended - started).TotalMilliseconds));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Interlocked.Add(ref _abandonedTotal, fire.Remaining);
            log.LogAbandoned(definition.Name, slotText, sent, fire.Remaining);
            fire.Remaining = 0;
        }
        catch (Exception ex)
        {
            // A failure the fire expects (an expansion's, a value's, NATS's) is one line; any other is a fault, logged
            // with its stack trace. Either way the schedule fires again at its next slot.
            bool expected = ex is FireFailedException or ExpansionException or UnserializableValueException or TimeoutException;
            string reason = ex is FireFailedException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
            lock (gate)
            {
                state.Errors++;
                state.LastError = reason;
                state.LastErrorAt = time.GetUtcNow();
            }
            log.LogFireFailed(definition.Name, slotText, sent, reason, expected ? null : ex);
            fire.Remaining = 0;
        }
        finally
        {
            bodies?.Dispose();
        }
    }

    /// <summary>Asks the slot gate for the slot; while it answers, slots that come due queue by the catch-up policy.</summary>
    private async ValueTask<bool> ClaimAsync(ISlotGate slotGate, ScheduleState state, ScheduleDefinition definition, DateTimeOffset slot, CancellationToken token)
    {
        lock (gate)
        {
            state.Claiming = true;
        }
        bool claimed;
        try
        {
            claimed = await slotGate.TryClaimAsync(definition, slot, token).ConfigureAwait(false);
        }
        finally
        {
            lock (gate)
            {
                state.Claiming = false;
            }
        }
        if (!claimed)
        {
            lock (gate)
            {
                state.NotClaimed++;
            }
        }
        return claimed;
    }

    private static int CountDropped(ReadOnlySpan<DispatchMessage> handed)
    {
        int dropped = 0;
        foreach (var message in handed)
        {
            dropped += message.Dropped ? 1 : 0;
        }
        return dropped;
    }

    private void Dispatched(ScheduleState state, int count, int dropped = 0)
    {
        Interlocked.Add(ref state.Dispatched, count);
        Interlocked.Add(ref _dispatchedTotal, count);
        if (dropped > 0)
        {
            Interlocked.Add(ref state.Dropped, dropped);
        }
    }

    private void ThrowUnlessMayPublish()
    {
        if (slotGate is { MayPublish: false })
        {
            throw new FireFailedException("this replica lost the right to publish (leadership lapsed) during the fire; the rest is left to the leader");
        }
    }
}
