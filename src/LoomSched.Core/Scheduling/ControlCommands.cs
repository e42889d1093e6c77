using LoomSched.Config;
using LoomSched.Dispatch;

namespace LoomSched.Scheduling;

/// <summary>
/// The operator's commands (trigger, pause, resume, catch up, reload, status), on the caller's thread: each changes
/// the schedule table under its lock, wakes the loop when the next slot may have moved, and launches a fire it
/// decided once the lock is released.
/// </summary>
internal sealed class ControlCommands(
    ScheduleTable table, FireRunner runner, Action wake, TimeProvider time, DateTimeOffset? intervalAnchor, EngineLog log)
{
    public ControlResult Trigger(string name)
    {
        Fire fire;
        DateTimeOffset now;
        lock (table.Gate)
        {
            if (!table.TryGet(name, out var state))
            {
                return ControlResult.Refused(UnknownSchedule(name));
            }
            if (!state.Definition.Enabled)
            {
                return ControlResult.Refused(Disabled(name));
            }
            if (state.Running || state.EarlierFireRunning)
            {
                return ControlResult.Refused($"schedule \"{name}\" is still running its previous fire; try again when it ends");
            }
            now = time.GetUtcNow();
            fire = table.PrepareFire(state, now, manual: true, catchUp: null);
        }
        runner.Launch(fire);
        return ControlResult.Done($"schedule \"{name}\" triggered for {LoomTime.Format(now)}");
    }

    public ControlResult Pause(string name)
    {
        lock (table.Gate)
        {
            if (!table.TryGet(name, out var state))
            {
                return ControlResult.Refused(UnknownSchedule(name));
            }
            if (state.Paused)
            {
                return ControlResult.Done($"schedule \"{name}\" was already paused");
            }
            state.Paused = true;
            state.Version++;
            state.NextSlot = null;
            // Slots queued behind a running fire are the cadence's too: they stop with it.
            state.Backlog?.Clear();
            log.LogPaused(name);
            return ControlResult.Done($"schedule \"{name}\" paused");
        }
    }

    public ControlResult Resume(string name)
    {
        lock (table.Gate)
        {
            if (!table.TryGet(name, out var state))
            {
                return ControlResult.Refused(UnknownSchedule(name));
            }
            if (!state.Paused)
            {
                return ControlResult.Done($"schedule \"{name}\" was not paused");
            }
            state.Paused = false;
            var now = time.GetUtcNow();
            table.PlanAfter(state, now, now);
            string next = ScheduleTable.Format(state.NextSlot);
            log.LogResumed(name, next);
            wake();
            return ControlResult.Done($"schedule \"{name}\" resumed; next fire {next}");
        }
    }

    public ControlResult TakeOver(string name, TakeOverPlan plan)
    {
        lock (table.Gate)
        {
            if (!table.TryGet(name, out var state))
            {
                return ControlResult.Refused(UnknownSchedule(name));
            }
            if (!state.Definition.Enabled)
            {
                return ControlResult.Done($"schedule \"{name}\" is disabled (enabled: false): no slot caught up");
            }
            if (plan.Resent is { } resent)
            {
                log.LogResent(name, LoomTime.Format(resent));
            }
            if (plan.Missed is { } missed)
            {
                // Counted as a stall counts: the slots that never go out, whether the host stalled or nothing ran.
                state.MissedSlots += missed.PassedOver;
                log.LogCatchUp(name, missed.Count, LoomTime.Format(missed.First), LoomTime.Format(missed.Last),
                    PolicyName(missed.Policy), Fired(missed.Fired), missed.PassedOver);
            }
            if (plan.OneShot is { } oneShot)
            {
                log.LogOneShotLate(name, LoomTime.Format(oneShot));
            }
        }
        return CatchUp(name, plan.Slots);
    }

    private static string PolicyName(CatchUpPolicy policy) => policy switch
    {
        CatchUpPolicy.Once => "once",
        CatchUpPolicy.All => "all",
        _ => "skip",
    };

    /// <summary>"0 of them", "1 of them (A)", "6 of them (A to F)".</summary>
    private static string Fired(IReadOnlyList<DateTimeOffset> fired) => fired.Count switch
    {
        0 => "0 of them",
        1 => $"1 of them ({LoomTime.Format(fired[0])})",
        _ => $"{fired.Count} of them ({LoomTime.Format(fired[0])} to {LoomTime.Format(fired[^1])})",
    };

    public ControlResult CatchUp(string name, IReadOnlyList<DateTimeOffset> slots)
    {
        Fire fire;
        lock (table.Gate)
        {
            if (!table.TryGet(name, out var state))
            {
                return ControlResult.Refused(UnknownSchedule(name));
            }
            if (slots.Count == 0)
            {
                return ControlResult.Done($"schedule \"{name}\" has no slot to catch up");
            }
            if (!state.Definition.Enabled)
            {
                return ControlResult.Done($"schedule \"{name}\" is disabled (enabled: false): no slot caught up");
            }
            if (state.Running)
            {
                // A fire in flight (one that waits for its claim, say): the slots join the ones queued behind it.
                state.Backlog = Merged(state.Backlog, slots);
                state.BacklogPolicy = null;
                return ControlResult.Done($"schedule \"{name}\" catches up {slots.Count} slot(s) after its running fire");
            }
            fire = table.PrepareFire(state, slots[0], manual: false, catchUp: slots);
        }
        runner.Launch(fire);
        return ControlResult.Done($"schedule \"{name}\" catches up {slots.Count} slot(s)");
    }

    /// <summary>Both lists in slot order, merged in slot order, each slot once.</summary>
    internal static Queue<DateTimeOffset> Merged(Queue<DateTimeOffset>? queued, IReadOnlyList<DateTimeOffset> slots)
    {
        var merged = new Queue<DateTimeOffset>(slots.Count + (queued?.Count ?? 0));
        DateTimeOffset? last = null;
        void Add(DateTimeOffset slot)
        {
            if (slot != last)
            {
                merged.Enqueue(slot);
                last = slot;
            }
        }
        int next = 0;
        foreach (var slot in queued ?? [])
        {
            while (next < slots.Count && slots[next] <= slot)
            {
                Add(slots[next++]);
            }
            Add(slot);
        }
        while (next < slots.Count)
        {
            Add(slots[next++]);
        }
        return merged;
    }

    public DateTimeOffset? AnchorOf(string name)
    {
        lock (table.Gate)
        {
            return table.TryGet(name, out var state) ? state.Anchor : null;
        }
    }

    public ReloadSummary Reload(SchedulerConfig config) => Redefine(now =>
    {
        var next = new Dictionary<string, ScheduleState>(StringComparer.Ordinal);
        var order = new List<ScheduleState>();
        List<string> added = [], changed = [], unchanged = [], removed = [];
        foreach (var definition in config.Schedules)
        {
            table.TryGet(definition.Name, out var old);
            var state = Redefined(old, definition, now);
            (ReferenceEquals(state, old) ? unchanged : old is null ? added : changed).Add(definition.Name);
            next.Add(definition.Name, state);
            order.Add(state);
        }
        foreach (var old in table.Order)
        {
            if (!next.ContainsKey(old.Definition.Name))
            {
                ScheduleTable.Retire(old);
                removed.Add(old.Definition.Name);
            }
        }
        table.Replace(config, next, order);
        return new ReloadSummary(added, removed, changed, unchanged);
    });

    /// <summary>Adds, redefines or (given null) removes one schedule, as a reload would, leaving the others be.</summary>
    public ReloadSummary Change(string name, ScheduleDefinition? definition) => Redefine(now =>
    {
        List<string> added = [], changed = [], removed = [];
        bool had = table.TryGet(name, out var old);
        if (definition is null)
        {
            if (had)
            {
                ScheduleTable.Retire(old!);
                table.Remove(old!);
                removed.Add(name);
            }
        }
        else
        {
            var state = Redefined(old, definition, now);
            if (!had)
            {
                table.Add(state);
                added.Add(name);
            }
            else if (ReferenceEquals(state, old))
            {
                table.Redefined();
            }
            else
            {
                table.Swap(old!, state);
                changed.Add(name);
            }
        }
        return new ReloadSummary(added, removed, changed, []) { UnchangedCount = table.Order.Count - added.Count - changed.Count };
    });

    // A change of definitions, under the table's lock. Slots already due belong to the old definitions: they fire
    // first, even if the loop (late on a busy host) has not got to them yet, so that a change never swallows a slot.
    private ReloadSummary Redefine(Func<DateTimeOffset, ReloadSummary> change)
    {
        var due = new List<Fire>();
        ReloadSummary summary;
        lock (table.Gate)
        {
            var now = time.GetUtcNow();
            var decided = new List<DueSlot>();
            table.DecideDue(now, due, decided, int.MaxValue);
            table.PlanAfterDue(decided, now);
            summary = change(now);
            wake();
            log.LogReloaded(summary.ToString());
        }
        runner.Launch(due);
        return summary;
    }

    // The state a definition runs with: the old one when nothing that decides its slots changed, else a new schedule of
    // that name, planned from now. The old definition's fire may still run. An operator's pause is of the name, not of
    // a definition: it holds until a resume (as the state bucket, which records it by name, holds it across a restart).
    private ScheduleState Redefined(ScheduleState? old, ScheduleDefinition definition, DateTimeOffset now)
    {
        if (old is not null && old.Definition.Fingerprint == definition.Fingerprint)
        {
            old.Definition = definition;
            return old;
        }
        var state = new ScheduleState(definition, intervalAnchor ?? now);
        if (old is not null)
        {
            ScheduleTable.Retire(old);
            state.Paused = old.Paused;
            // The old definition's fire may still run: the new one's slots wait for it as for any fire of the name.
            state.Predecessor = old.Running || old.EarlierFireRunning ? old : null;
        }
        if (!state.Paused)
        {
            table.PlanAfter(state, now, now);
        }
        return state;
    }

    public SchedulerStatus Status(DateTimeOffset startedAt)
    {
        lock (table.Gate)
        {
            var list = new List<ScheduleStatus>(table.Order.Count);
            foreach (var s in table.Order)
            {
                list.Add(new ScheduleStatus(
                    s.Definition.Name, s.Definition.Trigger.Describe(), s.NextSlot is { } n ? s.Definition.FireTimeOf(n) : null,
                    s.LastSlot, s.LastFireStartedAt,
                    s.LastLateness?.TotalMilliseconds, s.Fires, Interlocked.Read(ref s.Dispatched), s.Errors,
                    s.SkippedOverlap, s.MissedSlots, s.Paused, s.Running || s.EarlierFireRunning, s.LastError, s.NotClaimed,
                    s.Lateness?.Snapshot() ?? LatenessSnapshot.None)
                {
                    Dropped = Interlocked.Read(ref s.Dropped),
                    NextSlot = s.NextSlot,
                    Enabled = s.Definition.Enabled,
                    Done = s.Done,
                    LastDue = s.LastDue,
                });
            }
            return new SchedulerStatus(table.Config.Name, startedAt, time.GetUtcNow(), list);
        }
    }

    private static string Disabled(string name) =>
        $"schedule \"{name}\" is disabled (enabled: false in the config): it never fires; set enabled: true and reload";

    private string UnknownSchedule(string name)
    {
        var known = string.Join(", ", table.Order.Select(s => s.Definition.Name));
        return known.Length == 0
            ? $"no schedule is named \"{name}\" (this scheduler has none)"
            : $"no schedule is named \"{name}\"; known: {known}";
    }
}
