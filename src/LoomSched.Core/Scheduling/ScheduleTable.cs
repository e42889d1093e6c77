using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Triggers;

namespace LoomSched.Scheduling;

/// <summary>A slot taken from the queue and decided; its schedule's next slot is planned after the hand-over.</summary>
internal readonly record struct DueSlot(ScheduleState State, DateTimeOffset Slot);

/// <summary>
/// The schedules, their queue of slots and the config and message builder in force: what the loop, the control
/// commands and the fires share. Every member is used under <see cref="Gate"/>, the engine's one lock.
/// </summary>
internal sealed class ScheduleTable
{
    /// <summary>How long after a schedule's fault (its trigger threw) its next slot is computed again.</summary>
    internal static readonly TimeSpan FaultRetry = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly EngineLog _log;
    private readonly bool _gated;
    private Dictionary<string, ScheduleState> _states = new(StringComparer.Ordinal);
    private List<ScheduleState> _order = [];
    private SchedulerConfig _config;

    // Set by a change of one schedule: the config's list is made again from the table when next asked for.
    private bool _configStale;

    /// <summary>Puts <paramref name="config"/> in force at <paramref name="now"/>, interval grids starting at <paramref name="anchor"/>.</summary>
    public ScheduleTable(SchedulerConfig config, TimeProvider time, DateTimeOffset now, DateTimeOffset anchor, bool gated, EngineLog log)
    {
        _time = time;
        _log = log;
        _gated = gated;
        _config = config;
        Builder = new MessageBuilder(config, time);
        foreach (var definition in config.Schedules)
        {
            var state = new ScheduleState(definition, anchor);
            _states.Add(definition.Name, state);
            _order.Add(state);
            PlanAfter(state, now, now);
        }
    }

    public Lock Gate { get; } = new();

    public SlotQueue Queue { get; } = new();

    /// <summary>The top level in force, without making its list of schedules again (which may lag a change of one).</summary>
    public SchedulerConfig TopLevel => _config;

    /// <summary>The config in force: its top level, and the schedules in table order.</summary>
    public SchedulerConfig Config
    {
        get
        {
            lock (Gate)
            {
                if (_configStale)
                {
                    _config = _config.WithSchedules([.. _order.Select(s => s.Definition)]);
                    _configStale = false;
                }
                return _config;
            }
        }
    }

    /// <summary>Builds the messages of the config in force; a new one with every reload.</summary>
    public MessageBuilder Builder { get; private set; }

    /// <summary>The schedules in config order.</summary>
    public IReadOnlyList<ScheduleState> Order => _order;

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ScheduleState? state) =>
        _states.TryGetValue(name, out state);

    /// <summary>Puts a reloaded config in force, with its schedules (kept, changed or new) in config order.</summary>
    public void Replace(SchedulerConfig config, Dictionary<string, ScheduleState> states, List<ScheduleState> order)
    {
        _config = config;
        _configStale = false;
        Builder = new MessageBuilder(config, _time);
        _states = states;
        _order = order;
    }

    /// <summary>Adds a schedule after the others (a change of one schedule; the top level is unchanged).</summary>
    public void Add(ScheduleState state)
    {
        _states.Add(state.Definition.Name, state);
        _order.Add(state);
        _configStale = true;
    }

    /// <summary>Puts <paramref name="state"/> where <paramref name="old"/>, of the same name, was.</summary>
    public void Swap(ScheduleState old, ScheduleState state)
    {
        _states[state.Definition.Name] = state;
        _order[_order.IndexOf(old)] = state;
        _configStale = true;
    }

    /// <summary>Takes a retired schedule out of the table.</summary>
    public void Remove(ScheduleState old)
    {
        _states.Remove(old.Definition.Name);
        _order.Remove(old);
        _configStale = true;
    }

    /// <summary>A definition of the same fingerprint, kept in place: the config's list shows it.</summary>
    public void Redefined() => _configStale = true;

    /// <summary>
    /// Takes the slots due by <paramref name="now"/> and decides each by the <see cref="SlotPolicy"/>: fires go to
    /// <paramref name="fires"/> (at most <paramref name="limit"/>), every decided slot to <paramref name="decided"/>,
    /// whose next slots <see cref="PlanAfterDue"/> plans. Both under one hold of the lock.
    /// </summary>
    public void DecideDue(DateTimeOffset now, List<Fire> fires, List<DueSlot> decided, int limit)
    {
        while (fires.Count < limit && Queue.TryTakeDue(now, out var entry, out var slot))
        {
            if (!entry.IsLive)
            {
                continue;
            }
            if (entry.Replan)
            {
                PlanAfter(entry.State, now, now);
                continue;
            }
            // With jitter_seconds the entry comes due after its slot: the fire is the slot's.
            var due = entry.Slot == default ? slot : entry.Slot;
            entry.State.LastDue = due;
            Decide(entry.State, due, fires);
            decided.Add(new DueSlot(entry.State, due));
        }
    }

    /// <summary>Plans the next slot of every decided one: the one after it, or after a stall the first after now.</summary>
    public void PlanAfterDue(List<DueSlot> decided, DateTimeOffset now)
    {
        foreach (var (state, slot) in decided)
        {
            try
            {
                var plan = SlotPolicy.After(state.Definition.Trigger, state.Anchor, slot, now, state.Definition.Jitter);
                if (plan.Stalled)
                {
                    state.MissedSlots += plan.Missed;
                    _log.LogStall(state.Definition.Name, plan.Missed, Format(plan.Next));
                }
                ScheduleNext(state, plan.Next);
            }
            catch (Exception ex)
            {
                // One schedule's fault is that schedule's: the others stay on time.
                Faulted(state, ex, now);
            }
        }
        decided.Clear();
    }

    private void Decide(ScheduleState state, DateTimeOffset slot, List<Fire> fires)
    {
        var catchUp = state.Definition.CatchUp ?? _config.CatchUp;
        // An earlier definition's fire counts as running, never as claiming: its own fire takes what comes while it claims.
        switch (SlotPolicy.Decide(state.Running || state.EarlierFireRunning, state.Claiming, state.Backlog is not null, state.BacklogPolicy?.Policy, catchUp.Policy))
        {
            case SlotDecision.Fire:
                fires.Add(PrepareFire(state, slot, manual: false, catchUp: null));
                break;
            case SlotDecision.CatchUpLatestOnly:
                state.Backlog!.Clear();
                state.Backlog.Enqueue(slot);
                break;
            case SlotDecision.CatchUp:
                if (state.Backlog!.Count >= CatchUpPlanner.MaxSlots)
                {
                    state.Backlog.Dequeue();
                }
                state.Backlog.Enqueue(slot);
                break;
            case SlotDecision.CatchUpAfterClaim:
                state.Backlog = new Queue<DateTimeOffset>([slot]);
                state.BacklogPolicy = catchUp;
                break;
            case SlotDecision.SkipWhileClaiming:
                state.SkippedOverlap++;
                _log.LogSkippedWhileClaiming(state.Definition.Name, LoomTime.Format(slot));
                break;
            case SlotDecision.Skip:
                state.SkippedOverlap++;
                _log.LogSkippedOverlap(state.Definition.Name, LoomTime.Format(slot));
                break;
        }
    }

    /// <summary>
    /// Marks the schedule running and captures what its fire needs. A catch-up run fires <paramref name="catchUp"/>,
    /// oldest first, and also takes the slots that come due while it runs, so that catching up never costs a regular slot.
    /// </summary>
    public Fire PrepareFire(ScheduleState state, DateTimeOffset slot, bool manual, IReadOnlyList<DateTimeOffset>? catchUp)
    {
        state.Running = true;
        state.Backlog = catchUp is null ? null : new Queue<DateTimeOffset>();
        var definition = state.Definition;
        return new Fire(state, definition, Builder, slot, manual, catchUp)
        {
            Inline = catchUp is null && definition.ExpandFrom is null && !_gated,
        };
    }

    /// <summary>Plans the schedule's first slot after <paramref name="after"/>; a trigger that throws is the schedule's fault.</summary>
    public void PlanAfter(ScheduleState state, DateTimeOffset after, DateTimeOffset now)
    {
        if (!state.Definition.Enabled)
        {
            // enabled: false: shown, never planned.
            ScheduleNext(state, null);
            return;
        }
        DateTimeOffset? next;
        try
        {
            next = state.Definition.Trigger.NextAfter(after, state.Anchor);
        }
        catch (Exception ex)
        {
            Faulted(state, ex, now);
            return;
        }
        ScheduleNext(state, next);
    }

    /// <summary>
    /// After the wall clock went back: plans every active schedule again from <paramref name="now"/> where that brings
    /// its next slot earlier (interval grids extended back if now is before they began); a slot due now fires now.
    /// Returns how many were planned again.
    /// </summary>
    public long PlanAgainFrom(DateTimeOffset now)
    {
        long planned = 0;
        foreach (var state in _order)
        {
            if (state.Removed || state.Paused || state.NextSlot is not { } old)
            {
                continue;
            }
            var trigger = state.Definition.Trigger;
            DateTimeOffset? next;
            try
            {
                // A grid that starts where the daemon started (not at a start_at) reaches back with the clock.
                if ((trigger as IntervalTrigger ?? (trigger as WindowedTrigger is { FixedGrid: false } w ? w.Inner as IntervalTrigger : null)) is { } interval)
                {
                    state.Anchor = SlotPolicy.GridStartBefore(interval.Interval, state.Anchor, now);
                }
                // From just before now: a slot at this very instant is due, not skipped.
                next = trigger.NextAfter(now - TimeSpan.FromTicks(1), state.Anchor);
            }
            catch (Exception ex)
            {
                Faulted(state, ex, now);
                continue;
            }
            if (next is not { } due || due >= old)
            {
                continue;
            }
            state.Version++; // the queued entry for the old slot is stale
            ScheduleNext(state, next);
            planned++;
        }
        return planned;
    }

    /// <summary>Takes a schedule out of the cadence (removed, or replaced by a changed definition); a running fire finishes.</summary>
    public static void Retire(ScheduleState state)
    {
        state.Removed = true;
        state.Version++;
        state.NextSlot = null;
    }

    /// <summary>
    /// Counts and logs (with the stack trace) a fault of one schedule's planning, and plans it again
    /// <see cref="FaultRetry"/> later from the time then.
    /// </summary>
    private void Faulted(ScheduleState state, Exception ex, DateTimeOffset now)
    {
        var retry = now + FaultRetry;
        state.Errors++;
        state.LastError = $"its next slot could not be planned ({ex.GetType().Name}: {ex.Message}); tried again at {LoomTime.Format(retry)}";
        state.LastErrorAt = now;
        state.Version++; // whatever was queued for it is stale
        state.NextSlot = null;
        state.RetryAt = retry;
        Queue.Add(new SlotEntry(state, state.Version, Replan: true), retry);
        _log.LogScheduleFault(state.Definition.Name, ex.GetType().Name, ex.Message, LoomTime.Format(retry), ex);
    }

    private void ScheduleNext(ScheduleState state, DateTimeOffset? next)
    {
        state.NextSlot = next;
        state.RetryAt = null;
        if (next is { } slot)
        {
            Queue.Add(new SlotEntry(state, state.Version, Slot: slot), state.Definition.FireTimeOf(slot));
        }
    }

    /// <summary>An instant as Loom spells it, or "none".</summary>
    public static string Format(DateTimeOffset? t) => t is { } v ? LoomTime.Format(v) : "none";
}
