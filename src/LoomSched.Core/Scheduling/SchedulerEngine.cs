using System.Globalization;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using LoomSched.Triggers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoomSched.Scheduling;

/// <summary>
/// The timer loop. Keeps a priority queue of next-fire instants and sleeps (on the given
/// <see cref="TimeProvider"/>) until the earliest, or until a command wakes it; it never polls. The next slot
/// is computed from the slot just fired; after a stall a schedule fires once and resumes on its cadence.
/// A slot that comes while the schedule's previous fire still runs is skipped and counted.
/// </summary>
/// <remarks>
/// The fires due at one instant are picked under the lock and started once it is released. A fire that needs no
/// await of its own (no expansion, no slot gate) runs on the loop's thread: it builds its message and hands it to the
/// port, which takes it at once while its buffer has room; a thousand such fires then cost a couple of
/// milliseconds, where a task each cost a thread hop and a wait for the lock. Should the port make it wait
/// (back-pressure), the rest of that fire goes on as a task, tracked like any other, and the loop goes on with the
/// next fire. Fires with an expansion or a slot gate always run on their own task, so that one schedule's expansion
/// or publish never delays another's fire.
/// <para>
/// Ready-made messages: with a precise wake lead (<see cref="EngineOptions.PreciseWakeLead"/>), the loop wakes
/// <see cref="ReadyLead"/> before a slot and builds the message of every plain fire due at it (no expansion; never
/// with a slot gate, whose fires wait for their claim anyway). Such a message's <c>created_at</c> is its slot. At the
/// slot the loop hands all of them to the port at once (<see cref="HandOverReady"/>), before the bookkeeping of any
/// fire, which then only accounts for its message. A ready message is used only by the fire it was made for: same
/// schedule version, builder and slot, not paused, removed or running, within <see cref="ReadyTolerance"/> of the
/// slot; otherwise (a pause, a reload, a stall) it is dropped and the fire builds its own, as every other fire does.
/// </para>
/// </remarks>
public sealed class SchedulerEngine
{
    private const int FiresPerPass = 64;

    /// <summary>
    /// How long before a slot the loop wakes to make its messages ready (with a precise wake lead only): enough for
    /// thousands of messages, and for the coarse timer waking a few milliseconds late.
    /// </summary>
    private static readonly TimeSpan ReadyLead = TimeSpan.FromMilliseconds(25);

    /// <summary>A ready-made message is used only by a fire that starts this close to its slot (its created_at is the slot).</summary>
    private static readonly TimeSpan ReadyTolerance = TimeSpan.FromMilliseconds(100);

    /// <summary>At most this many messages are made ready for one slot; the rest are built as they fire.</summary>
    private const int MaxReady = 10_000;

    /// <summary>How long the loop waits at most, at a slot, for its handed-over messages to be written out.</summary>
    private static readonly TimeSpan HandOverWait = TimeSpan.FromMilliseconds(5);

    /// <summary>How far the wall clock may fall behind the monotonic clock before the loop plans its slots again.</summary>
    private static readonly TimeSpan ClockSetBackTolerance = TimeSpan.FromSeconds(1);

    /// <summary>Making messages ready stops this long before the slot, so that it never delays the first fire.</summary>
    private static readonly TimeSpan ReadyMargin = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// The longest the loop sleeps at once: a timer takes at most about 49.7 days, and a slot months away is reached
    /// by sleeping again, each wake re-reading the clock.
    /// </summary>
    internal static readonly TimeSpan MaxSleep = TimeSpan.FromHours(1);

    /// <summary>How long after a schedule's fault (its trigger threw) its next slot is computed again.</summary>
    internal static readonly TimeSpan FaultRetry = TimeSpan.FromMinutes(1);

    /// <summary>How long the loop waits after a fault of its own before it goes on, so that a fault cannot spin.</summary>
    private static readonly TimeSpan LoopFaultPause = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly IDispatchPort _port;
    private readonly TimeProvider _time;
    private readonly EngineOptions _options;
    private readonly EngineLog _log;
    private readonly FiredLines _lines;
    private readonly FireRunner _runner;
    private readonly PriorityQueue<QueueItem, QueueKey> _queue = new();
    private readonly List<Fire> _due = []; // the loop's: fires picked under the lock, started after it
    private readonly Dictionary<ScheduleState, ReadyMessage> _ready = []; // the loop's: messages made ready for _readyFor
    private DateTimeOffset _readyFor; // the loop's: the slot whose messages were made ready last
    private DateTimeOffset _handedFor; // the loop's: the slot whose ready messages were handed to the port
    private DateTimeOffset _seenWall; // the loop's (under _gate): the wall clock at its last look ...
    private long _seenTimestamp; // ... and the monotonic clock then (NoticeClockSetBack)
    private Dictionary<string, ScheduleState> _states = new(StringComparer.Ordinal);
    private List<ScheduleState> _order = [];
    private MessageBuilder _builder;
    private TaskCompletionSource _wake = NewSignal();
    private long _seq;
    private long _sleepingUntilTicks;
    private long _lastBeat;
    private long _sleeps;

    /// <summary>Creates an engine; nothing fires until <see cref="RunAsync"/>.</summary>
    public SchedulerEngine(SchedulerConfig config, IDispatchPort port, TimeProvider time, EngineOptions? options = null)
    {
        _port = port;
        _time = time;
        _options = options ?? new EngineOptions();
        _log = new EngineLog(_options.LoggerFactory.CreateLogger("loomsched"));
        _lines = new FiredLines(_log, port, time);
        _runner = new FireRunner(_gate, port, time, _options.SlotGate, new ExpansionRunner(_options, time), _lines, _log);
        Config = config;
        _builder = new MessageBuilder(config, time);
        StartedAt = time.GetUtcNow();
        foreach (var definition in config.Schedules)
        {
            var state = new ScheduleState(definition, _options.IntervalAnchor ?? StartedAt);
            _states.Add(definition.Name, state);
            _order.Add(state);
            PlanAfter(state, StartedAt, StartedAt);
        }
    }

    /// <summary>The config in force.</summary>
    public SchedulerConfig Config { get; private set; }

    /// <summary>When the engine was created (interval schedules count their slots from here).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Messages handed to the output port so far.</summary>
    public long DispatchedTotal => _runner.DispatchedTotal;

    /// <summary>
    /// Runs the loop until <paramref name="stoppingToken"/> is cancelled. In-flight fires are not awaited
    /// here: call <see cref="DrainAsync"/> afterwards to finish them within a grace period.
    /// </summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Task wake;
            lock (_gate)
            {
                if (_wake.Task.IsCompleted)
                {
                    _wake = NewSignal();
                }
                wake = _wake.Task;
            }
            DateTimeOffset? until;
            try
            {
                until = Pass();
            }
            catch (Exception ex)
            {
                // A fault of the loop's own (not of one schedule: FireDue keeps those to their schedule) must not stop
                // every schedule: it is logged, and the loop goes on after a pause.
                until = _time.GetUtcNow() + LoopFaultPause;
                AbandonPicked();
                _log.LogLoopFault(ex.GetType().Name, ex.Message, ex);
            }
            Beat();
            await SleepAsync(until, wake, stoppingToken).ConfigureAwait(false);
            Volatile.Write(ref _sleepingUntilTicks, 0);
        }
        _lines.Flush();
    }

    /// <summary>Calls the heartbeat when half its period has passed since the last (the loop wakes at least that often).</summary>
    private void Beat()
    {
        if (_options.Heartbeat is not { } heartbeat || (_lastBeat != 0 && _time.GetElapsedTime(_lastBeat) < _options.HeartbeatPeriod / 2))
        {
            return;
        }
        _lastBeat = _time.GetTimestamp();
        heartbeat();
    }

    /// <summary>The longest the loop may sleep: an hour, or half the heartbeat's period.</summary>
    private TimeSpan LongestSleep => _options.Heartbeat is null ? MaxSleep : TimeSpan.FromTicks(Math.Min(MaxSleep.Ticks, _options.HeartbeatPeriod.Ticks / 2));

    /// <summary>One pass of the loop: fires what is due, makes the next slot's messages ready; returns when to wake.</summary>
    private DateTimeOffset? Pass()
    {
        DateTimeOffset? until;
        DateTimeOffset now;
        lock (_gate)
        {
            // A pass picks a bounded number of fires, so that the first of a thousand due at once starts without
            // waiting for the other 999 to be picked (and control requests get the lock in between); the loop
            // comes straight back for the rest, as the earliest slot is then still due.
            now = _time.GetUtcNow();
            NoticeClockSetBack(now);
            // After a hand-over, every fire due now is picked in this pass: the fires whose messages went out
            // are accounted under the same lock that saw them fit to go (no pause or reload between the two).
            FireDue(now, _due, HandOverReady(now) ? int.MaxValue : FiresPerPass);
            until = _queue.TryPeek(out _, out var next) ? next.Due : null;
        }
        AttachReady(_due, now);
        LaunchBatch(_due);
        if (until is not { } more || more > now || _lines.Count >= FiredLines.MaxDeferred)
        {
            // Nothing more due at once: the instant's fires are all launched, its lines may be written.
            _lines.Flush();
        }
        if (until is { } coming && coming > now && coming != _readyFor && _options.PreciseWakeLead > TimeSpan.Zero
            && _options.SlotGate is null && coming - _time.GetUtcNow() <= ReadyLead)
        {
            MakeReady(coming);
        }
        return until;
    }

    /// <summary>After a fault of the loop: fires it picked and did not start are not running (their next slots stand).</summary>
    private void AbandonPicked()
    {
        lock (_gate)
        {
            foreach (var fire in _due)
            {
                fire.State.Running = false;
            }
            _due.Clear();
        }
    }

    /// <summary>
    /// When the loop last went to sleep, the instant it sleeps until (UTC ticks; 0 while it works). Lets tests
    /// on a fake clock know the loop has caught up before they move the clock again.
    /// </summary>
    internal long SleepingUntilTicks => Volatile.Read(ref _sleepingUntilTicks);

    /// <summary>How many times the loop has gone to sleep: tests on a fake clock wait for it after waking the loop.</summary>
    internal long Sleeps => Volatile.Read(ref _sleeps);

    /// <summary>The loop goes to sleep until <paramref name="untilTicks"/> (UTC ticks): what tests on a fake clock wait for.</summary>
    private void Asleep(long untilTicks)
    {
        Volatile.Write(ref _sleepingUntilTicks, untilTicks);
        Interlocked.Increment(ref _sleeps);
    }

    /// <summary>Fires started and not yet ended.</summary>
    internal int FiresInFlight => _runner.InFlight;

    /// <summary>
    /// Lets running fires finish for up to <paramref name="grace"/>, then cancels what remains and reports
    /// how many messages were dispatched and how many were abandoned.
    /// </summary>
    public Task<DrainResult> DrainAsync(TimeSpan grace) => _runner.DrainAsync(grace);

    /// <summary>Fires a schedule now, outside its cadence (its next slot is unchanged).</summary>
    public ControlResult Trigger(string name)
    {
        Fire fire;
        DateTimeOffset now;
        lock (_gate)
        {
            if (!_states.TryGetValue(name, out var state))
            {
                return ControlResult.Refused(UnknownSchedule(name));
            }
            if (state.Running)
            {
                return ControlResult.Refused($"schedule \"{name}\" is still running its previous fire; try again when it ends");
            }
            now = _time.GetUtcNow();
            fire = PrepareFire(state, now, manual: true, catchUp: null);
        }
        _runner.Launch(fire);
        return ControlResult.Done($"schedule \"{name}\" triggered for {LoomTime.Format(now)}");
    }

    /// <summary>Stops a schedule's cadence until <see cref="Resume"/> (a running fire finishes).</summary>
    public ControlResult Pause(string name)
    {
        lock (_gate)
        {
            if (!_states.TryGetValue(name, out var state))
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
            _log.LogPaused(name);
            return ControlResult.Done($"schedule \"{name}\" paused");
        }
    }

    /// <summary>Restarts a paused schedule at its next slot after now (interval schedules keep their grid).</summary>
    public ControlResult Resume(string name)
    {
        lock (_gate)
        {
            if (!_states.TryGetValue(name, out var state))
            {
                return ControlResult.Refused(UnknownSchedule(name));
            }
            if (!state.Paused)
            {
                return ControlResult.Done($"schedule \"{name}\" was not paused");
            }
            state.Paused = false;
            var now = _time.GetUtcNow();
            PlanAfter(state, now, now);
            _log.LogResumed(name, state.NextSlot);
            Wake();
            return ControlResult.Done($"schedule \"{name}\" resumed; next fire {FormatOrNone(state.NextSlot)}");
        }
    }

    /// <summary>
    /// Applies a validated config at once. Schedules whose definition did not change keep their slots,
    /// counters and running fire; removed ones stop (a running fire finishes); new and changed ones start
    /// from now, but a changed one that was paused stays paused.
    /// </summary>
    public ReloadSummary Reload(SchedulerConfig config)
    {
        var due = new List<Fire>();
        ReloadSummary summary;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            // Slots already due belong to the old definitions: fire them first, even if the loop (late on a busy
            // host) has not got to them yet, so that a reload never swallows a slot.
            FireDue(now, due, int.MaxValue);
            var next = new Dictionary<string, ScheduleState>(StringComparer.Ordinal);
            var order = new List<ScheduleState>();
            List<string> added = [], changed = [], unchanged = [], removed = [];
            foreach (var definition in config.Schedules)
            {
                if (_states.TryGetValue(definition.Name, out var old) && old.Definition.Fingerprint == definition.Fingerprint)
                {
                    old.Definition = definition;
                    next.Add(definition.Name, old);
                    order.Add(old);
                    unchanged.Add(definition.Name);
                    continue;
                }
                var state = new ScheduleState(definition, _options.IntervalAnchor ?? now);
                if (old is not null)
                {
                    // The old definition's fire may still run; the new one is a new schedule with the same name.
                    Retire(old);
                    changed.Add(definition.Name);
                    // An operator's pause is of the name, not of a definition: it holds until a resume (as the
                    // state bucket, which records it by name, holds it across a restart).
                    state.Paused = old.Paused;
                }
                else
                {
                    added.Add(definition.Name);
                }
                next.Add(definition.Name, state);
                order.Add(state);
                if (!state.Paused)
                {
                    PlanAfter(state, now, now);
                }
            }
            foreach (var old in _order)
            {
                if (!next.ContainsKey(old.Definition.Name))
                {
                    Retire(old);
                    removed.Add(old.Definition.Name);
                }
            }
            _states = next;
            _order = order;
            Config = config;
            _builder = new MessageBuilder(config, _time);
            Wake();
            summary = new ReloadSummary(added, removed, changed, unchanged);
            _log.LogReloaded(summary.ToString());
        }
        _runner.Launch(due);
        return summary;
    }

    /// <summary>A snapshot of every schedule.</summary>
    public SchedulerStatus Status()
    {
        lock (_gate)
        {
            var list = new List<ScheduleStatus>(_order.Count);
            foreach (var s in _order)
            {
                list.Add(new ScheduleStatus(
                    s.Definition.Name, s.Definition.Trigger.Describe(), s.NextSlot, s.LastSlot, s.LastFireStartedAt,
                    s.LastLateness?.TotalMilliseconds, s.Fires, Interlocked.Read(ref s.Dispatched), s.Errors,
                    s.SkippedOverlap, s.MissedSlots, s.Paused, s.Running, s.LastError, s.NotClaimed));
            }
            return new SchedulerStatus(Config.Name, StartedAt, _time.GetUtcNow(), list);
        }
    }

    // --- the loop's work, always under _gate ---

    /// <summary>
    /// Picks the fires due by <paramref name="now"/> into <paramref name="due"/>, up to <paramref name="limit"/>; start
    /// them with <see cref="FireRunner.Launch(List{Fire})"/>.
    /// </summary>
    private void FireDue(DateTimeOffset now, List<Fire> due, int limit)
    {
        while (due.Count < limit && _queue.TryPeek(out var item, out var key) && key.Due <= now)
        {
            _queue.Dequeue();
            var state = item.State;
            if (item.Version != state.Version || state.Removed || state.Paused)
            {
                continue;
            }
            try
            {
                if (item.Replan)
                {
                    PlanAfter(state, now, now);
                }
                else
                {
                    OnSlotDue(state, key.Due, now, due);
                }
            }
            catch (Exception ex)
            {
                // One schedule's fault is that schedule's: the others stay on time.
                Faulted(state, ex, now);
            }
        }
    }

    /// <summary>Plans the schedule's first slot after <paramref name="after"/>; a trigger that throws is the schedule's fault.</summary>
    private void PlanAfter(ScheduleState state, DateTimeOffset after, DateTimeOffset now)
    {
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
        _queue.Enqueue(new QueueItem(state, state.Version, Replan: true), new QueueKey(retry, _seq++));
        _log.LogScheduleFault(state.Definition.Name, ex.GetType().Name, ex.Message, LoomTime.Format(retry), ex);
    }

    private void OnSlotDue(ScheduleState state, DateTimeOffset slot, DateTimeOffset now, List<Fire> due)
    {
        var definition = state.Definition;
        var catchUp = definition.CatchUp ?? Config.CatchUp;
        switch (SlotPolicy.Decide(state.Running, state.Claiming, state.Backlog is not null, state.BacklogPolicy?.Policy, catchUp.Policy))
        {
            case SlotDecision.Fire:
                due.Add(PrepareFire(state, slot, manual: false, catchUp: null));
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
                _log.LogSkippedWhileClaiming(definition.Name, LoomTime.Format(slot));
                break;
            case SlotDecision.Skip:
                state.SkippedOverlap++;
                _log.LogSkippedOverlap(definition.Name, LoomTime.Format(slot));
                break;
        }

        var plan = SlotPolicy.After(definition.Trigger, state.Anchor, slot, now);
        if (plan.Stalled)
        {
            state.MissedSlots += plan.Missed;
            _log.LogStall(definition.Name, plan.Missed, FormatOrNone(plan.Next));
        }
        ScheduleNext(state, plan.Next);
    }

    /// <summary>
    /// A wall clock set back (NTP correcting a clock that ran ahead, an edge host's clock set by hand) would leave every
    /// schedule waiting for slots that now lie ahead by as much: an interval schedule silent for as long as the clock
    /// went back, a cron schedule until the new time reaches its slots again. At every look the loop compares the wall
    /// clock with the monotonic one; when the wall clock fell behind by more than <see cref="ClockSetBackTolerance"/>,
    /// each schedule's next slot is planned again from the new time (interval schedules keep their grid, extended
    /// back if the new time is before it began), and a slot that is due now fires now. A clock set forward needs
    /// nothing of its own: its slots are missed, as after a stall.
    /// </summary>
    private void NoticeClockSetBack(DateTimeOffset now)
    {
        long timestamp = _time.GetTimestamp();
        var back = _seenWall + _time.GetElapsedTime(_seenTimestamp, timestamp) - now;
        bool seen = _seenTimestamp != 0 || _seenWall != default;
        _seenWall = now;
        _seenTimestamp = timestamp;
        if (!seen || back <= ClockSetBackTolerance)
        {
            return;
        }
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
                if (trigger is IntervalTrigger interval && now <= state.Anchor)
                {
                    long periods = ((state.Anchor - now).Ticks / interval.Interval.Ticks) + 1;
                    state.Anchor -= TimeSpan.FromTicks(periods * interval.Interval.Ticks);
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
        _log.LogClockSetBack(back.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s", planned, LoomTime.Format(now));
    }

    private void ScheduleNext(ScheduleState state, DateTimeOffset? next)
    {
        state.NextSlot = next;
        if (next is { } due)
        {
            _queue.Enqueue(new QueueItem(state, state.Version), new QueueKey(due, _seq++));
        }
    }

    private void Retire(ScheduleState state)
    {
        state.Removed = true;
        state.Version++;
        state.NextSlot = null;
    }

    /// <summary>
    /// Marks the schedule running and captures what its fire needs (definition and builder as they are now: a reload
    /// meanwhile does not change a fire already decided). A catch-up run fires <paramref name="catchUp"/>, oldest first,
    /// and also takes the slots that come due while it runs (its backlog), so that catching up never costs a regular slot.
    /// </summary>
    private Fire PrepareFire(ScheduleState state, DateTimeOffset slot, bool manual, IReadOnlyList<DateTimeOffset>? catchUp)
    {
        state.Running = true;
        state.Backlog = catchUp is null ? null : new Queue<DateTimeOffset>();
        var definition = state.Definition;
        return new Fire(state, definition, _builder, slot, manual, catchUp)
        {
            Inline = catchUp is null && definition.ExpandFrom is null && _options.SlotGate is null,
        };
    }

    // --- starting fires, never under _gate ---

    /// <summary>Launches a pass of the loop's fires; the "fired" lines of those that run on this thread are deferred.</summary>
    private void LaunchBatch(List<Fire> fires)
    {
        if (fires.Count == 0)
        {
            return;
        }
        _lines.BeginBatch();
        try
        {
            _runner.Launch(fires);
        }
        finally
        {
            _lines.EndBatch();
        }
    }

    /// <summary>
    /// Builds the messages of the plain fires due at <paramref name="slot"/> ahead of it (see the remarks), on the
    /// loop's thread, outside the lock; stops <see cref="ReadyMargin"/> before the slot.
    /// </summary>
    private void MakeReady(DateTimeOffset slot)
    {
        _ready.Clear();
        _readyFor = slot;
        var candidates = new List<(ScheduleState State, long Version, ScheduleDefinition Definition)>();
        MessageBuilder builder;
        lock (_gate)
        {
            builder = _builder;
            // The queue yields its earliest items only: take those due at the slot and put them back as they were
            // (same priority, hence the same order).
            var taken = new List<(QueueItem Item, QueueKey Key)>();
            while (taken.Count < MaxReady && _queue.TryPeek(out var item, out var key) && key.Due == slot)
            {
                _queue.Dequeue();
                taken.Add((item, key));
            }
            foreach (var (item, key) in taken)
            {
                _queue.Enqueue(item, key);
                var state = item.State;
                if (!item.Replan && item.Version == state.Version && !state.Removed && !state.Paused && !state.Running
                    && state.Definition.ExpandFrom is null)
                {
                    candidates.Add((state, state.Version, state.Definition));
                }
            }
        }
        var stopAt = slot - ReadyMargin;
        for (int i = 0; i < candidates.Count; i++)
        {
            if ((i & 63) == 0 && _time.GetUtcNow() >= stopAt)
            {
                return;
            }
            var (state, version, definition) = candidates[i];
            try
            {
                var messages = builder.ForFire(definition, slot);
                var message = messages.Message(messages.BuildBody(null, createdAt: slot), 0);
                message.KeepId(); // spelled now, not by the publisher in the burst
                _ready[state] = new ReadyMessage(version, builder, slot, messages, message);
            }
            catch (Exception)
            {
                // The fire builds it again at the slot, and says what is wrong then.
            }
        }
    }

    /// <summary>
    /// At the slot, before any fire's bookkeeping: hands the port every ready message whose fire is still to happen as
    /// planned (same version, builder and slot; not paused, removed or running), all in one call, and marks those the
    /// port took; their fires then only account for them. Under the lock, so nothing changes a schedule between the
    /// check and its fire. With the system clock, the loop then waits (at most <see cref="HandOverWait"/>) until the
    /// port has written them out: a thread it wakes (the publisher) may be queued on the waking thread's core, and on
    /// a small VM it would otherwise wait there until the loop has done the bookkeeping of every fire of the instant
    /// (a thousand: about 0.6 ms), while the other core idles. True when the port took any.
    /// </summary>
    private bool HandOverReady(DateTimeOffset now)
    {
        var slot = _readyFor;
        if (_ready.Count == 0 || slot == _handedFor || slot > now || now - slot > ReadyTolerance)
        {
            return false;
        }
        _handedFor = slot;
        var messages = new DispatchMessage[_ready.Count];
        var readies = new ReadyMessage[_ready.Count];
        int count = 0;
        foreach (var (state, ready) in _ready)
        {
            if (ready.Slot == slot && ready.Version == state.Version && state.NextSlot == slot && !state.Removed
                && !state.Paused && !state.Running && ReferenceEquals(ready.Builder, _builder))
            {
                messages[count] = ready.Message;
                readies[count++] = ready;
            }
        }
        var untilWritten = _options.PreciseWakeLead > TimeSpan.Zero ? HandOverWait : TimeSpan.Zero;
        int taken = count == 0 ? 0 : _port.TryPublishNow(messages.AsSpan(0, count), untilWritten);
        for (int i = 0; i < taken; i++)
        {
            readies[i].Handed = true;
            readies[i].HandedAt = now;
        }
        return taken > 0;
    }

    /// <summary>Hands each fire of the loop's pass the message made ready for it, if there is one and it still fits.</summary>
    private void AttachReady(List<Fire> fires, DateTimeOffset now)
    {
        if (_ready.Count == 0)
        {
            return;
        }
        foreach (var fire in fires)
        {
            // A message already handed to the port is its fire's, whatever else: it has gone.
            if (_ready.Remove(fire.State, out var ready) && ready.Slot == fire.Slot && (ready.Handed
                || (fire.Inline && ready.Version == fire.State.Version && ReferenceEquals(ready.Builder, fire.Builder)
                    && now - fire.Slot <= ReadyTolerance)))
            {
                fire.Ready = ready;
            }
        }
    }

    /// <summary>
    /// Fires missed slots of a schedule after downtime or a failover, in order, as one run (see
    /// <see cref="CatchUpPlanner"/>). While the schedule is running, the slots queue behind its fire instead.
    /// </summary>
    public ControlResult CatchUp(string name, IReadOnlyList<DateTimeOffset> slots)
    {
        Fire fire;
        lock (_gate)
        {
            if (!_states.TryGetValue(name, out var state))
            {
                return ControlResult.Refused(UnknownSchedule(name));
            }
            if (slots.Count == 0)
            {
                return ControlResult.Done($"schedule \"{name}\" has no slot to catch up");
            }
            _log.LogCatchUp(name, slots.Count, LoomTime.Format(slots[0]), LoomTime.Format(slots[^1]));
            if (state.Running)
            {
                // A fire in flight (one that waits for its claim, say): the slots join the ones queued behind it, in
                // slot order (both are in order), and fire after it.
                var merged = new Queue<DateTimeOffset>(slots.Count + (state.Backlog?.Count ?? 0));
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
                foreach (var queued in state.Backlog ?? [])
                {
                    while (next < slots.Count && slots[next] <= queued)
                    {
                        Add(slots[next++]);
                    }
                    Add(queued);
                }
                while (next < slots.Count)
                {
                    Add(slots[next++]);
                }
                state.Backlog = merged;
                state.BacklogPolicy = null;
                return ControlResult.Done($"schedule \"{name}\" catches up {slots.Count} slot(s) after its running fire");
            }
            fire = PrepareFire(state, slots[0], manual: false, catchUp: slots);
        }
        _runner.Launch(fire);
        return ControlResult.Done($"schedule \"{name}\" catches up {slots.Count} slot(s)");
    }

    /// <summary>The anchor of a schedule's interval grid (for catch-up planning).</summary>
    public DateTimeOffset? AnchorOf(string name)
    {
        lock (_gate)
        {
            return _states.TryGetValue(name, out var state) ? state.Anchor : null;
        }
    }

    private async Task SleepAsync(DateTimeOffset? until, Task wake, CancellationToken stoppingToken)
    {
        if (until is null)
        {
            Asleep(DateTimeOffset.MaxValue.UtcTicks);
            try
            {
                // Nothing to wait for but a command (and the heartbeat, if there is one).
                await (_options.Heartbeat is null ? wake.WaitAsync(stoppingToken) : wake.WaitAsync(LongestSleep, _time, stoppingToken)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
            {
            }
            return;
        }
        var delay = until.Value - _time.GetUtcNow();
        if (delay <= TimeSpan.Zero)
        {
            return;
        }
        var lead = _options.PreciseWakeLead;
        if (lead > TimeSpan.Zero && delay <= lead)
        {
            // The last few milliseconds: a sleep of this thread beats the coarse timer queue. Thread.Sleep counts
            // whole milliseconds and truncates: a remainder under 1 ms would be Sleep(0), a bare yield the loop spins
            // on (with 100,000 staggered schedules, a slot every millisecond or so, that kept a core busy). Rounding
            // up costs at most a millisecond of lateness.
            Asleep(until.Value.UtcTicks);
            if (_options.PreciseSleep is { } sleep)
            {
                sleep(delay);
            }
            else
            {
                Thread.Sleep((int)Math.Ceiling(delay.TotalMilliseconds));
            }
            return;
        }
        // A slot whose messages are not ready yet wakes the loop ReadyLead before it (to make them), then again at
        // the precise lead.
        delay -= lead > TimeSpan.Zero && _options.SlotGate is null && until.Value != _readyFor && delay > ReadyLead ? ReadyLead : lead;
        // Timers count whole milliseconds: round up, so the loop never wakes a fraction early and spins.
        delay = TimeSpan.FromMilliseconds(Math.Ceiling(delay.TotalMilliseconds));
        if (delay > LongestSleep)
        {
            delay = LongestSleep;
        }
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var timer = Task.Delay(delay, _time, cancel.Token);
        Asleep(until.Value.UtcTicks);
        await Task.WhenAny(timer, wake).ConfigureAwait(false);
        await cancel.CancelAsync().ConfigureAwait(false);
    }

    private void Wake() => _wake.TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string UnknownSchedule(string name)
    {
        var known = string.Join(", ", _order.Select(s => s.Definition.Name));
        return known.Length == 0
            ? $"no schedule is named \"{name}\" (this scheduler has none)"
            : $"no schedule is named \"{name}\"; known: {known}";
    }

    private static string FormatOrNone(DateTimeOffset? t) => t is { } v ? LoomTime.Format(v) : "none";

    /// <summary>A schedule's entry in the queue: its slot, or (<paramref name="Replan"/>) a retry of its planning after a fault.</summary>
    private readonly record struct QueueItem(ScheduleState State, long Version, bool Replan = false);

    /// <summary>
    /// A queue entry's priority: its instant, then the order it was queued in (entries of one instant come out
    /// first-queued first). Compared as two numbers: a thousand schedules due at one instant take twenty thousand
    /// comparisons to come out of the queue, and a tuple of a DateTimeOffset and a long compared through the default
    /// comparers was about half of the loop's work at that instant.
    /// </summary>
    private readonly struct QueueKey(DateTimeOffset due, long seq) : IComparable<QueueKey>
    {
        private readonly long _ticks = due.UtcTicks;
        private readonly long _seq = seq;

        /// <summary>The instant, in UTC (the queue keeps instants; no offset is ever shown from it).</summary>
        public DateTimeOffset Due => new(_ticks, TimeSpan.Zero);

        public int CompareTo(QueueKey other) =>
            _ticks != other._ticks ? (_ticks < other._ticks ? -1 : 1) : _seq.CompareTo(other._seq);
    }
}
