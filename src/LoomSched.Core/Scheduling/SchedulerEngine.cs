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
public sealed partial class SchedulerEngine
{
    private const int FiresPerPass = 64;
    private const int MaxDeferredLines = 10_000;

    /// <summary>How many messages of a fire are handed to the port at once (<see cref="IDispatchPort.PublishAsync(ArraySegment{DispatchMessage}, CancellationToken)"/>).</summary>
    private const int HandOverChunk = 256;

    /// <summary>
    /// How long the "fired" lines of an instant wait for its messages to be sent (<see cref="IDispatchPort.WhenSentAsync"/>)
    /// before they are written anyway: while NATS is away, fires are still logged, this much later.
    /// </summary>
    private static readonly TimeSpan LinesWaitForSend = TimeSpan.FromMilliseconds(50);

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
    private readonly ILogger _log;
    private readonly PriorityQueue<QueueItem, QueueKey> _queue = new();
    private readonly Dictionary<Task, Fire> _inFlight = [];
    private readonly List<Fire> _due = []; // the loop's: fires picked under the lock, started after it
    private readonly List<FiredLine> _firedInBatch = []; // the loop's: "fired" lines of its batch, logged after it
    private Task _linesWritten = Task.CompletedTask; // the loop's: the last of its batches of lines, written in order
    private readonly Dictionary<ScheduleState, Ready> _ready = []; // the loop's: messages made ready for _readyFor
    private DateTimeOffset _readyFor; // the loop's: the slot whose messages were made ready last
    private DateTimeOffset _handedFor; // the loop's: the slot whose ready messages were handed to the port
    private int _batchThread; // the thread launching the loop's batch, while it does
    private DateTimeOffset _seenWall; // the loop's (under _gate): the wall clock at its last look ...
    private long _seenTimestamp; // ... and the monotonic clock then (NoticeClockSetBack)
    private readonly CancellationTokenSource _fireCancel = new();
    private Dictionary<string, ScheduleState> _states = new(StringComparer.Ordinal);
    private List<ScheduleState> _order = [];
    private MessageBuilder _builder;
    private TaskCompletionSource _wake = NewSignal();
    private long _seq;
    private long _dispatchedTotal;
    private long _abandonedTotal;
    private long _sleepingUntilTicks;
    private long _lastBeat;
    private long _sleeps;

    /// <summary>Creates an engine; nothing fires until <see cref="RunAsync"/>.</summary>
    public SchedulerEngine(SchedulerConfig config, IDispatchPort port, TimeProvider time, EngineOptions? options = null)
    {
        _port = port;
        _time = time;
        _options = options ?? new EngineOptions();
        _log = _options.LoggerFactory.CreateLogger("loomsched");
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
    public long DispatchedTotal => Interlocked.Read(ref _dispatchedTotal);

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
                LogLoopFault(ex.GetType().Name, ex.Message, ex);
            }
            Beat();
            await SleepAsync(until, wake, stoppingToken).ConfigureAwait(false);
            Volatile.Write(ref _sleepingUntilTicks, 0);
        }
        LogDeferredLines();
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
        if (until is not { } more || more > now || _firedInBatch.Count >= MaxDeferredLines)
        {
            // Nothing more due at once: the instant's fires are all launched, its lines may be written.
            LogDeferredLines();
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
    internal int FiresInFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight.Count;
            }
        }
    }

    /// <summary>
    /// Lets running fires finish for up to <paramref name="grace"/>, then cancels what remains and reports
    /// how many messages were dispatched and how many were abandoned.
    /// </summary>
    public async Task<DrainResult> DrainAsync(TimeSpan grace)
    {
        Task[] running;
        lock (_gate)
        {
            running = [.. _inFlight.Keys];
        }
        int cut = 0;
        if (running.Length > 0)
        {
            try
            {
                await Task.WhenAll(running).WaitAsync(grace, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                lock (_gate)
                {
                    cut = _inFlight.Count;
                }
                await _fireCancel.CancelAsync().ConfigureAwait(false);
                try
                {
                    await Task.WhenAll(running).WaitAsync(TimeSpan.FromMilliseconds(500), _time).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // A fire stuck in user code that ignores cancellation: its unsent messages are already counted.
                }
            }
        }
        lock (_gate)
        {
            // Fires that never reached their publish loop count all their messages as abandoned.
            foreach (var fire in _inFlight.Values)
            {
                Interlocked.Add(ref _abandonedTotal, fire.Remaining);
            }
        }
        // The loop's last lines (it has stopped: RunAsync has returned) wait at most LinesWaitForSend.
        await Volatile.Read(ref _linesWritten).ConfigureAwait(false);
        return new DrainResult(DispatchedTotal, Interlocked.Read(ref _abandonedTotal), cut);
    }

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
        Launch(fire);
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
            LogPaused(name);
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
            LogResumed(name, state.NextSlot);
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
            LogReloaded(summary.ToString());
        }
        Launch(due);
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
    /// them with <see cref="Launch(List{Fire})"/>.
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
        LogScheduleFault(state.Definition.Name, ex.GetType().Name, ex.Message, LoomTime.Format(retry), ex);
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
                LogSkippedWhileClaiming(definition.Name, LoomTime.Format(slot));
                break;
            case SlotDecision.Skip:
                state.SkippedOverlap++;
                LogSkippedOverlap(definition.Name, LoomTime.Format(slot));
                break;
        }

        var plan = SlotPolicy.After(definition.Trigger, state.Anchor, slot, now);
        if (plan.Stalled)
        {
            state.MissedSlots += plan.Missed;
            LogStall(definition.Name, plan.Missed, FormatOrNone(plan.Next));
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
        LogClockSetBack(back.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s", planned, LoomTime.Format(now));
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

    /// <summary>
    /// Launches a pass of the loop's fires. The "fired" lines of those that ran on this thread wait until the loop has
    /// no more fires due at once (<see cref="LogDeferredLines"/>): formatting a line costs about as much as such a
    /// fire, and would make every later fire of the same instant wait for it.
    /// </summary>
    private void LaunchBatch(List<Fire> fires)
    {
        if (fires.Count == 0)
        {
            return;
        }
        if (_log.IsEnabled(LogLevel.Information))
        {
            _batchThread = Environment.CurrentManagedThreadId;
        }
        try
        {
            Launch(fires);
        }
        finally
        {
            _batchThread = 0;
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
                _ready[state] = new Ready(version, builder, slot, messages, message);
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
        var readies = new Ready[_ready.Count];
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
    /// Writes the lines of the loop's batch once the port has sent the messages accepted so far (at most
    /// <see cref="LinesWaitForSend"/> later): formatting a thousand lines takes as long as a thousand fires, and done at
    /// once it would hold the cores while the instant's messages are still on their way. Batches of lines keep their
    /// order. When the port has nothing waiting (an idle moment, the tests' port), they are written here and now.
    /// </summary>
    private void LogDeferredLines()
    {
        if (_firedInBatch.Count == 0)
        {
            return;
        }
        FiredLine[] lines = [.. _firedInBatch];
        _firedInBatch.Clear();
        Volatile.Write(ref _linesWritten, WriteLinesWhenSentAsync(lines, _linesWritten, _time.GetTimestamp()));
    }

    private async Task WriteLinesWhenSentAsync(FiredLine[] lines, Task previous, long batchedAt)
    {
        await previous.ConfigureAwait(false);
        try
        {
            // The wait counts from the batch's own instant: while the port cannot send (NATS away), batches that
            // came in the meantime are written at once, not 50 ms after one another (a backlog growing without end).
            var wait = LinesWaitForSend - _time.GetElapsedTime(batchedAt);
            if (wait > TimeSpan.Zero)
            {
                var sent = _port.WhenSentAsync(CancellationToken.None);
                if (!sent.IsCompleted)
                {
                    await sent.AsTask().WaitAsync(wait, _time).ConfigureAwait(false);
                }
            }
        }
        catch (Exception)
        {
            // Not sent in time, or the port is shutting down: the lines are written all the same.
        }
        foreach (var line in lines)
        {
            LogFired(line);
        }
    }

    private void Launch(List<Fire> fires)
    {
        foreach (var fire in fires)
        {
            Launch(fire);
        }
        fires.Clear();
    }

    private void Launch(Fire fire)
    {
        Task task;
        if (fire.Inline)
        {
            // On this thread until something makes it wait; then it returns, and the rest runs as a task.
            task = RunFiresAsync(fire);
            if (task.IsCompleted)
            {
                return;
            }
        }
        else
        {
            task = Task.Run(() => RunFiresAsync(fire));
        }
        lock (_gate)
        {
            _inFlight[task] = fire;
        }
        // After the registration: a task that has already ended is unregistered at once, here.
        _ = task.ContinueWith(
            static (t, self) => ((SchedulerEngine)self!).OnFireEnded(t), this,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task RunFiresAsync(Fire fire)
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
                while (NextFromBacklog(state) is { } late)
                {
                    await FireAsync(fire, late).ConfigureAwait(false);
                }
            }
            else
            {
                await FireAsync(fire, fire.Slot).ConfigureAwait(false);
            }
            // Slots queued while a gated fire waited on its claim (see OnSlotDue).
            while (NextFromBacklog(state) is { } late)
            {
                await FireAsync(fire, late).ConfigureAwait(false);
            }
        }
        finally
        {
            lock (_gate)
            {
                state.Running = false;
                state.Claiming = false;
                state.Backlog = null;
                state.BacklogPolicy = null;
            }
        }
    }

    private DateTimeOffset? NextFromBacklog(ScheduleState state)
    {
        lock (_gate)
        {
            while (state.Backlog is { Count: > 0 } backlog)
            {
                var slot = backlog.Dequeue();
                if (SlotPolicy.StillWanted(slot, _time.GetUtcNow(), state.BacklogPolicy))
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
            LogCatchUp(name, slots.Count, LoomTime.Format(slots[0]), LoomTime.Format(slots[^1]));
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
        Launch(fire);
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

    private void OnFireEnded(Task task)
    {
        lock (_gate)
        {
            _inFlight.Remove(task);
        }
    }

    // --- one fire: on the loop's thread or its own task (see Launch) ---

    private async Task FireAsync(Fire fire, DateTimeOffset slot)
    {
        var (state, definition, manual) = (fire.State, fire.Definition, fire.Manual);
        var token = _fireCancel.Token;
        var gate = _options.SlotGate;
        int sent = 0;
        var ready = fire.Ready is { } r && r.Slot == slot ? r : null;
        fire.Ready = null;
        string slotText = ready?.Messages.SlotText ?? LoomTime.Format(slot);
        CollectedBodies? bodies = null;

        try
        {
            var slotMessages = ready?.Messages ?? fire.Builder.ForFire(definition, slot);
            bool claimed = true;
            if (gate is not null)
            {
                lock (_gate)
                {
                    state.Claiming = true;
                }
                try
                {
                    claimed = await gate.TryClaimAsync(definition, slot, token).ConfigureAwait(false);
                }
                finally
                {
                    lock (_gate)
                    {
                        state.Claiming = false;
                    }
                }
            }
            if (!claimed)
            {
                lock (_gate)
                {
                    state.NotClaimed++;
                }
                return;
            }
            // A handed-over message went out at the slot, before this bookkeeping: the fire started then.
            var started = ready is { Handed: true } ? ready.HandedAt : _time.GetUtcNow();
            lock (_gate)
            {
                state.Fires++;
                state.LastSlot = slot;
                state.LastFireStartedAt = started;
                state.LastLateness = manual ? TimeSpan.Zero : started - slot;
            }
            bodies = ready is null ? await BuildBodiesAsync(definition, slotMessages, slot, token).ConfigureAwait(false) : null;
            int total = bodies?.Count ?? 1;
            fire.Remaining = total;
            if (ready is { Handed: true })
            {
                sent = 1; // the port has it (HandOverReady)
                fire.Remaining = 0;
                Interlocked.Increment(ref state.Dispatched);
                Interlocked.Increment(ref _dispatchedTotal);
            }
            else if (total == 1)
            {
                token.ThrowIfCancellationRequested();
                ThrowUnlessMayPublish(gate);
                await _port.PublishAsync(ready?.Message ?? slotMessages.Message(bodies![0], 0), token).ConfigureAwait(false);
                sent = 1;
                fire.Remaining = 0;
                Interlocked.Increment(ref state.Dispatched);
                Interlocked.Increment(ref _dispatchedTotal);
            }
            else
            {
                // A few hundred at a time: one hand-over (a lock, a wake-up of the publisher) per chunk, not per message.
                // A big fire's later bodies may still be building (on helper threads) while the first ones go out.
                var chunk = new DispatchMessage[Math.Min(total, HandOverChunk)];
                while (sent < total)
                {
                    token.ThrowIfCancellationRequested();
                    ThrowUnlessMayPublish(gate);
                    int count = Math.Min(chunk.Length, total - sent);
                    await bodies!.WhenBuiltAsync(sent + count).ConfigureAwait(false);
                    for (int i = 0; i < count; i++)
                    {
                        chunk[i] = slotMessages.Message(bodies[sent + i], sent + i);
                    }
                    int taken = await _port.PublishAsync(new ArraySegment<DispatchMessage>(chunk, 0, count), token).ConfigureAwait(false);
                    sent += taken;
                    fire.Remaining -= taken;
                    Interlocked.Add(ref state.Dispatched, taken);
                    Interlocked.Add(ref _dispatchedTotal, taken);
                }
                Array.Clear(chunk);
            }
            if (gate is not null)
            {
                // "done" only once the messages are confirmed: a replica that dies before then leaves the slot
                // "claimed", and the next leader sends it again (the stream drops what it already has).
                await _port.WhenSentAsync(token).ConfigureAwait(false);
                await gate.CompleteAsync(definition, slot, token).ConfigureAwait(false);
            }
            var ended = _time.GetUtcNow();
            lock (_gate)
            {
                state.LastDuration = ended - started;
            }
            Fired(new FiredLine(definition.Name, slotText, sent, (started - slot).TotalMilliseconds, (ended - started).TotalMilliseconds));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Interlocked.Add(ref _abandonedTotal, fire.Remaining);
            LogAbandoned(definition.Name, slotText, sent, fire.Remaining);
            fire.Remaining = 0;
        }
        catch (Exception ex)
        {
            // A failure the fire expects (an expansion's, a value's, NATS's) is one line; any other is a fault, logged
            // with its stack trace. Either way the schedule fires again at its next slot.
            bool expected = ex is FireFailedException or ExpansionException or UnserializableValueException or TimeoutException;
            string reason = ex is FireFailedException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
            lock (_gate)
            {
                state.Errors++;
                state.LastError = reason;
                state.LastErrorAt = _time.GetUtcNow();
            }
            LogFireFailed(definition.Name, slotText, sent, reason, expected ? null : ex);
            fire.Remaining = 0;
        }
        finally
        {
            bodies?.Dispose();
        }
    }

    private static void ThrowUnlessMayPublish(ISlotGate? gate)
    {
        if (gate is { MayPublish: false })
        {
            throw new FireFailedException("this replica lost the right to publish (leadership lapsed) during the fire; the rest is left to the leader");
        }
    }

    private void Fired(FiredLine line)
    {
        // Still inside the loop's batch, on its thread (the fire did not have to wait): logged when the batch is launched.
        if (_batchThread == Environment.CurrentManagedThreadId)
        {
            _firedInBatch.Add(line);
            return;
        }
        LogFired(line);
    }

    /// <summary>
    /// Runs the expansion (bounded by its timeout and cap) and reads every map before any message is sent, so that a
    /// bad value or an oversize expansion refuses the whole fire rather than half-sending it. Body i is the message
    /// of expansion index i; a big fire's later bodies may still be building when this returns (what is left cannot
    /// fail: <see cref="FireBodyCollector"/>).
    /// </summary>
    private async ValueTask<CollectedBodies> BuildBodiesAsync(
        ScheduleDefinition definition, FireMessages slotMessages, DateTimeOffset slot, CancellationToken token)
    {
        if (definition.ExpandFrom is not { } functionName)
        {
            return CollectedBodies.One(slotMessages.BuildBody(null), slotMessages);
        }
        if (!_options.Registry.TryGet(functionName, out var function))
        {
            throw new FireFailedException($"expansion function \"{functionName}\" is not registered");
        }

        var context = new ExpansionContext
        {
            ScheduleName = definition.Name,
            ScheduledFor = slot,
            Args = definition.ExpandArgs,
            MaxMaps = definition.MaxExpansion,
            Services = _options.Services,
            Logger = _options.LoggerFactory.CreateLogger($"expansion {functionName} (schedule {definition.Name})"),
        };
        IEnumerable<IEnumerable<KeyValuePair<string, object?>>>? maps;
        long called = _time.GetTimestamp();
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(token))
        {
            timeout.CancelAfter(definition.ExpandTimeout);
            // Task.Run so that a function that blocks before its first await is still bounded by the timeout.
            var call = Task.Run(() => function.Invoke(context, timeout.Token).AsTask(), CancellationToken.None);
            try
            {
                maps = await call.WaitAsync(definition.ExpandTimeout, _time, token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                await timeout.CancelAsync().ConfigureAwait(false);
                throw new FireFailedException(
                    $"expansion \"{functionName}\" did not finish within {definition.ExpandTimeout.TotalSeconds:0.###} s (expand_timeout_seconds)");
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new FireFailedException(
                    $"expansion \"{functionName}\" was cancelled after {definition.ExpandTimeout.TotalSeconds:0.###} s (expand_timeout_seconds)");
            }
            catch (ExpansionException ex)
            {
                throw new FireFailedException($"expansion \"{functionName}\" failed: {OperatorReason(functionName, ex)}");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Anything else is for the function's developer: its type says where to look.
                throw new FireFailedException($"expansion \"{functionName}\" threw {ex.GetType().Name}: {ex.Message}");
            }
        }
        if (maps is null)
        {
            throw new FireFailedException($"expansion \"{functionName}\" returned null instead of a list of maps");
        }

        // A lazy result (yield, LINQ) runs the function's code while its maps are read: the timeout bounds that too.
        // The reading runs as a task of its own that owns its bodies, so that one stuck in the function's code can be
        // left behind (as a call that hangs is) without its memory going back to the pool while it still writes.
        var left = definition.ExpandTimeout - _time.GetElapsedTime(called);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(token);
        var read = Task.Run(() => ReadMaps(definition, functionName, maps, slotMessages, reading.Token), CancellationToken.None);
        try
        {
            return await read.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, _time, token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await reading.CancelAsync().ConfigureAwait(false);
            _ = read.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw new FireFailedException(
                $"expansion \"{functionName}\" did not hand over its maps within {definition.ExpandTimeout.TotalSeconds:0.###} s (expand_timeout_seconds); nothing was sent");
        }
    }

    /// <summary>Reads every map of a fire into its bodies (see <see cref="BuildBodiesAsync"/>); disposes them on failure.</summary>
    private CollectedBodies ReadMaps(ScheduleDefinition definition, string functionName,
        IEnumerable<IEnumerable<KeyValuePair<string, object?>>> maps, FireMessages slotMessages, CancellationToken token)
    {
        using var bodies = new FireBodyCollector(slotMessages, _options.BuildHelpers);
        int index = 0;
        try
        {
            foreach (var map in maps)
            {
                if (index >= definition.MaxExpansion)
                {
                    throw new FireFailedException(
                        $"expansion \"{functionName}\" returned more than {definition.MaxExpansion} maps (max_expansion); nothing was sent");
                }
                if (map is null)
                {
                    throw new FireFailedException($"expansion \"{functionName}\" returned a null map at index {index}; nothing was sent");
                }
                bodies.Add(map);
                index++;
                token.ThrowIfCancellationRequested(); // out of time: a slow yield stops at its next map
            }
            return bodies.Finish();
        }
        catch (UnserializableValueException ex)
        {
            throw new FireFailedException($"expansion \"{functionName}\" map {index}: {ex.Message}; nothing was sent");
        }
        catch (ExpansionException ex)
        {
            throw new FireFailedException($"expansion \"{functionName}\" failed while its maps were read: {OperatorReason(functionName, ex)}");
        }
        catch (Exception ex) when (ex is not FireFailedException and not OperationCanceledException)
        {
            throw new FireFailedException($"expansion \"{functionName}\" failed while its maps were read: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>
    /// An <see cref="ExpansionException"/> is written for the operator: shown as it is, without its type, and without
    /// the function's name twice.
    /// </summary>
    private static string OperatorReason(string functionName, ExpansionException ex) =>
        ex.Message.StartsWith(functionName + ": ", StringComparison.Ordinal) ? ex.Message[(functionName.Length + 2)..] : ex.Message;

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

    private readonly record struct FiredLine(string Schedule, string Slot, int Messages, double LatenessMs, double DurationMs);

    /// <summary>One fire (or catch-up run) of a schedule, from the moment it is decided until it ends.</summary>
    private sealed class Fire(
        ScheduleState state, ScheduleDefinition definition, MessageBuilder builder, DateTimeOffset slot, bool manual,
        IReadOnlyList<DateTimeOffset>? catchUp)
    {
        public ScheduleState State { get; } = state;
        public ScheduleDefinition Definition { get; } = definition;
        public MessageBuilder Builder { get; } = builder;
        public DateTimeOffset Slot { get; } = slot;
        public bool Manual { get; } = manual;

        /// <summary>The slots of a catch-up run, oldest first (then its backlog); null for one slot.</summary>
        public IReadOnlyList<DateTimeOffset>? CatchUp { get; } = catchUp;

        /// <summary>Needs no await of its own: starts on the thread that launches it (see <see cref="Launch(Fire)"/>).</summary>
        public bool Inline { get; init; }

        /// <summary>Messages built and not yet handed to the port: what a cut fire abandons.</summary>
        public int Remaining;

        /// <summary>The message made ready for this fire before its slot, if any (see <see cref="MakeReady"/>).</summary>
        public Ready? Ready { get; set; }
    }

    /// <summary>
    /// A message made ready before its slot (id spelled), and what it was made from (<see cref="MakeReady"/>). A class,
    /// not a record: nothing compares them.
    /// </summary>
    private sealed class Ready(long version, MessageBuilder builder, DateTimeOffset slot, FireMessages messages, DispatchMessage message)
    {
        public long Version { get; } = version;
        public MessageBuilder Builder { get; } = builder;
        public DateTimeOffset Slot { get; } = slot;
        public FireMessages Messages { get; } = messages;
        public DispatchMessage Message { get; } = message;

        /// <summary>The port took the message at <see cref="HandedAt"/> (<see cref="HandOverReady"/>): the fire only accounts for it.</summary>
        public bool Handed { get; set; }

        public DateTimeOffset HandedAt { get; set; }
    }

    private sealed class FireFailedException(string message) : Exception(message);
}
