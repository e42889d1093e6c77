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
    internal static TimeSpan FaultRetry => ScheduleTable.FaultRetry;

    /// <summary>How long the loop waits after a fault of its own before it goes on, so that a fault cannot spin.</summary>
    private static readonly TimeSpan LoopFaultPause = TimeSpan.FromSeconds(1);

    private readonly IDispatchPort _port;
    private readonly TimeProvider _time;
    private readonly EngineOptions _options;
    private readonly EngineLog _log;
    private readonly FiredLines _lines;
    private readonly FireRunner _runner;
    private readonly ScheduleTable _table;
    private readonly ControlCommands _commands;
    private readonly List<Fire> _due = []; // the loop's: fires picked under the lock, started after it
    private readonly List<DueSlot> _decided = []; // the loop's: slots decided under the lock, planned after it
    private readonly Dictionary<ScheduleState, ReadyMessage> _ready = []; // the loop's: messages made ready for _readyFor
    private DateTimeOffset _readyFor; // the loop's: the slot whose messages were made ready last
    private DateTimeOffset _handedFor; // the loop's: the slot whose ready messages were handed to the port
    private DateTimeOffset _seenWall; // the loop's (under _table.Gate): the wall clock at its last look ...
    private long _seenTimestamp; // ... and the monotonic clock then (NoticeClockSetBack)
    private TaskCompletionSource _wake = NewSignal();
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
        StartedAt = time.GetUtcNow();
        _table = new ScheduleTable(config, time, StartedAt, _options.IntervalAnchor ?? StartedAt, _options.SlotGate is not null, _log);
        _runner = new FireRunner(_table.Gate, port, time, _options.SlotGate, new ExpansionRunner(_options, time), _lines, _log);
        _commands = new ControlCommands(_table, _runner, Wake, time, _options.IntervalAnchor, _log);
    }

    /// <summary>The config in force.</summary>
    public SchedulerConfig Config => _table.Config;

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
            lock (_table.Gate)
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
        lock (_table.Gate)
        {
            // A pass picks a bounded number of fires, so that the first of a thousand due at once starts without
            // waiting for the other 999 to be picked (and control requests get the lock in between); the loop
            // comes straight back for the rest, as the earliest slot is then still due.
            now = _time.GetUtcNow();
            NoticeClockSetBack(now);
            // After a hand-over, every fire due now is picked in this pass: the fires whose messages went out
            // are accounted under the same lock that saw them fit to go (no pause or reload between the two).
            _table.DecideDue(now, _due, _decided, HandOverReady(now) ? int.MaxValue : FiresPerPass);
            _table.PlanAfterDue(_decided, now);
            until = _table.Queue.Earliest;
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
        lock (_table.Gate)
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
    public ControlResult Trigger(string name) => _commands.Trigger(name);

    /// <summary>Stops a schedule's cadence until <see cref="Resume"/> (a running fire finishes).</summary>
    public ControlResult Pause(string name) => _commands.Pause(name);

    /// <summary>Restarts a paused schedule at its next slot after now (interval schedules keep their grid).</summary>
    public ControlResult Resume(string name) => _commands.Resume(name);

    /// <summary>
    /// Fires missed slots of a schedule after downtime or a failover, in order, as one run (see
    /// <see cref="CatchUpPlanner"/>). While the schedule is running, the slots queue behind its fire instead.
    /// </summary>
    public ControlResult CatchUp(string name, IReadOnlyList<DateTimeOffset> slots) => _commands.CatchUp(name, slots);

    /// <summary>The anchor of a schedule's interval grid (for catch-up planning).</summary>
    public DateTimeOffset? AnchorOf(string name) => _commands.AnchorOf(name);

    /// <summary>
    /// Applies a validated config at once. Schedules whose definition did not change keep their slots,
    /// counters and running fire; removed ones stop (a running fire finishes); new and changed ones start
    /// from now, but a changed one that was paused stays paused.
    /// </summary>
    public ReloadSummary Reload(SchedulerConfig config) => _commands.Reload(config);

    /// <summary>A snapshot of every schedule.</summary>
    public SchedulerStatus Status() => _commands.Status(StartedAt);

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
        long planned = _table.PlanAgainFrom(now);
        _log.LogClockSetBack(back.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s", planned, LoomTime.Format(now));
    }

    // --- starting fires, never under _table.Gate ---

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
        lock (_table.Gate)
        {
            builder = _table.Builder;
            var entries = new List<SlotEntry>();
            _table.Queue.PeekAt(slot, MaxReady, entries);
            foreach (var entry in entries)
            {
                var state = entry.State;
                if (!entry.Replan && entry.IsLive && !state.Running && state.Definition.ExpandFrom is null)
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
                && !state.Paused && !state.Running && ReferenceEquals(ready.Builder, _table.Builder))
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
}
