using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using Microsoft.Extensions.Logging;

namespace LoomSched.Scheduling;

/// <summary>
/// The scheduler: fires each schedule's slots, publishing its messages through the output port. Its parts, each
/// with one job: the <see cref="TimerLoop"/> sleeps until the earliest slot in the <see cref="SlotQueue"/> or a
/// command; at a slot it decides which fires happen (<see cref="SlotPolicy"/>), hands their ready-made messages over
/// (<see cref="ReadyMessages"/>), plans the next slots and launches the fires (<see cref="FireRunner"/>, with the
/// <see cref="ExpansionRunner"/>). <see cref="ControlCommands"/> carries out the operator's commands. What they share
/// is the <see cref="ScheduleTable"/>, under its one lock.
/// </summary>
public sealed class SchedulerEngine
{
    private readonly FireRunner _runner;
    private readonly TimerLoop _loop;
    private readonly ControlCommands _commands;
    private readonly ScheduleTable _table;

    /// <summary>Creates an engine; nothing fires until <see cref="RunAsync"/>.</summary>
    public SchedulerEngine(SchedulerConfig config, IDispatchPort port, TimeProvider time, EngineOptions? options = null)
    {
        options ??= new EngineOptions();
        var log = new EngineLog(options.LoggerFactory.CreateLogger("loomsched"));
        var lines = new FiredLines(log, port, time);
        StartedAt = time.GetUtcNow();
        _table = new ScheduleTable(config, time, StartedAt, options.IntervalAnchor ?? StartedAt, options.SlotGate is not null, log);
        _runner = new FireRunner(_table.Gate, port, time, options.SlotGate, new ExpansionRunner(options, time), lines, log);
        _loop = new TimerLoop(_table, _runner, lines, port, time, options, log);
        _commands = new ControlCommands(_table, _runner, _loop.Wake, time, options.IntervalAnchor, log);
    }

    /// <summary>The config in force.</summary>
    public SchedulerConfig Config => _table.Config;

    /// <summary>The config's top level in force, for its keys: cheap, as its schedules may lag a <see cref="Change"/>.</summary>
    internal SchedulerConfig TopLevel => _table.TopLevel;

    /// <summary>When the engine was created (interval schedules count their slots from here).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Messages handed to the output port so far.</summary>
    public long DispatchedTotal => _runner.DispatchedTotal;

    /// <summary>How long after a schedule's fault (its trigger threw) its next slot is computed again.</summary>
    internal static TimeSpan FaultRetry => ScheduleTable.FaultRetry;

    /// <summary>When the loop last went to sleep, the instant it sleeps until (UTC ticks; 0 while it works).</summary>
    internal long SleepingUntilTicks => _loop.SleepingUntilTicks;

    /// <summary>How many times the loop has gone to sleep: tests on a fake clock wait for it after waking the loop.</summary>
    internal long Sleeps => _loop.Sleeps;

    /// <summary>Fires started and not yet ended.</summary>
    internal int FiresInFlight => _runner.InFlight;

    /// <summary>
    /// Runs the loop until <paramref name="stoppingToken"/> is cancelled. In-flight fires are not awaited
    /// here: call <see cref="DrainAsync"/> afterwards to finish them within a grace period.
    /// </summary>
    public Task RunAsync(CancellationToken stoppingToken) => _loop.RunAsync(stoppingToken);

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

    /// <summary>
    /// Carries out a take-over's plan for a schedule (<see cref="CatchUpPlanner.TakeOver"/>): counts and logs the slots
    /// it missed while nothing ran, then fires its slots as <see cref="CatchUp"/> does.
    /// </summary>
    public ControlResult TakeOver(string name, TakeOverPlan plan) => _commands.TakeOver(name, plan);

    /// <summary>The anchor of a schedule's interval grid (for catch-up planning).</summary>
    public DateTimeOffset? AnchorOf(string name) => _commands.AnchorOf(name);

    /// <summary>
    /// Applies a validated config at once. Schedules whose definition did not change keep their slots,
    /// counters and running fire; removed ones stop (a running fire finishes); new and changed ones start
    /// from now, but a changed one that was paused stays paused.
    /// </summary>
    public ReloadSummary Reload(SchedulerConfig config) => _commands.Reload(config);

    /// <summary>
    /// Puts one schedule in force as <see cref="Reload"/> would (added, kept when its definition did not change, or
    /// restarted when it did), or removes it when <paramref name="definition"/> is null; the others are not touched,
    /// so the cost does not grow with their number. A new schedule comes after the others.
    /// </summary>
    public ReloadSummary Change(string name, ScheduleDefinition? definition) => _commands.Change(name, definition);

    /// <summary>A snapshot of every schedule.</summary>
    public SchedulerStatus Status() => _commands.Status(StartedAt);

    /// <summary>Where the timer loop stands against its own plan, for a liveness probe (it does not wake the loop).</summary>
    public LoopProgress LoopProgress() => _loop.Progress();
}
