using System.Globalization;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using LoomSched.Triggers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoomSched.Scheduling;

/// <summary>
/// The scheduler: fires each schedule's slots, publishing its messages through the output port. The timer loop sleeps
/// (on the given <see cref="TimeProvider"/>) until the earliest slot or a command; at a slot it decides which fires
/// happen (<see cref="SlotPolicy"/>), hands their ready-made messages over (<see cref="ReadyMessages"/>), then plans
/// the next slots and launches the fires (<see cref="FireRunner"/>). After a stall a schedule fires once and resumes
/// on its cadence; a slot that comes while the previous fire still runs is skipped and counted.
/// </summary>
public sealed class SchedulerEngine
{
    private const int FiresPerPass = 64;

    /// <summary>How far the wall clock may fall behind the monotonic clock before the loop plans its slots again.</summary>
    private static readonly TimeSpan ClockSetBackTolerance = TimeSpan.FromSeconds(1);

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
    private readonly ReadyMessages _ready;
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
        _ready = new ReadyMessages(_table, port, time, _options);
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
            // A pass decides a bounded number of fires, so that the first of a thousand due at once starts without
            // waiting for the other 999 (and control requests get the lock in between); the loop comes straight back
            // for the rest. At a slot with ready messages, all of them are decided, to go to the port in one hand-over.
            now = _time.GetUtcNow();
            NoticeClockSetBack(now);
            bool handOver = _ready.DueAt(now);
            _table.DecideDue(now, _due, _decided, handOver ? int.MaxValue : FiresPerPass);
            try
            {
                if (handOver)
                {
                    _ready.HandOver(_due, now);
                }
            }
            finally
            {
                _table.PlanAfterDue(_decided, now);
            }
            until = _table.Queue.Earliest;
        }
        LaunchBatch(_due);
        if (until is not { } more || more > now || _lines.Count >= FiredLines.MaxDeferred)
        {
            // Nothing more due at once: the instant's fires are all launched, its lines may be written.
            _lines.Flush();
        }
        if (until is { } coming)
        {
            _ready.MakeIfNear(coming, now);
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
        // A slot whose messages are not ready yet wakes the loop ReadyMessages.Lead before it (to make them), then at
        // the precise lead.
        delay -= _ready.WakeEarlyFor(until.Value) && delay > ReadyMessages.Lead ? ReadyMessages.Lead : lead;
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
