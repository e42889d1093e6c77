using LoomSched.Dispatch;
using LoomSched.Expansion;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoomSched.Scheduling;

/// <summary>Everything the engine needs besides the config and the output port.</summary>
public sealed record EngineOptions
{
    /// <summary>The expansion functions schedules may name.</summary>
    public IExpansionRegistry Registry { get; init; } = ExpansionRegistry.Empty;

    /// <summary>Handed to expansion functions (<see cref="ExpansionContext.Services"/>).</summary>
    public IServiceProvider? Services { get; init; }

    /// <summary>Where events go.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>
    /// With the system clock: how long before a slot the coarse timer wakes the loop, which then sleeps the
    /// rest precisely. .NET timers tick on a coarse monotonic clock (a few ms on Linux); this lead keeps
    /// fires within about a millisecond of their slot. Zero turns it off (as for fake clocks, where it must be).
    /// With a lead, the loop also makes the messages of a slot's plain fires ready shortly before it (see <see cref="ReadyMessages"/>).
    /// </summary>
    public TimeSpan PreciseWakeLead { get; init; }

    /// <summary>
    /// Sleeps the calling thread for the last stretch before a slot (at most <see cref="PreciseWakeLead"/>), to the
    /// microsecond; it may return early (the loop then sleeps again for what is left). Null: <see cref="Thread.Sleep(int)"/>,
    /// which counts whole milliseconds, so the loop oversleeps by half a millisecond on average.
    /// </summary>
    public Action<TimeSpan>? PreciseSleep { get; init; }

    /// <summary>Coordinates fires across replicas (leader lease, slot state); null fires every slot.</summary>
    public ISlotGate? SlotGate { get; init; }

    /// <summary>
    /// Where interval grids start. Null: when the engine starts (Loom's behaviour: first fire one interval
    /// later). Replicas and restarts that must agree on slots anchor every grid to a fixed instant instead.
    /// </summary>
    public DateTimeOffset? IntervalAnchor { get; init; }

    /// <summary>
    /// How many helper tasks may build a big fan-out's bodies beside the thread reading its maps
    /// (<see cref="FireBodyCollector"/>): one per core beyond the first, at most three.
    /// </summary>
    public int BuildHelpers { get; init; } = Math.Clamp(Environment.ProcessorCount - 1, 0, 3);

    /// <summary>
    /// Called from the timer loop itself at least every <see cref="HeartbeatPeriod"/> (the loop wakes for it): a
    /// watchdog fed from here sees a loop that is stuck, not merely a process that is alive.
    /// </summary>
    public Action? Heartbeat { get; init; }

    /// <summary>How often <see cref="Heartbeat"/> is called at least.</summary>
    public TimeSpan HeartbeatPeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether the loop wakes for <see cref="Heartbeat"/>, as a watchdog needs. False calls it only on passes the loop
    /// makes anyway (at most every half period): an idle loop then sleeps until its next slot.
    /// </summary>
    public bool HeartbeatWakes { get; init; } = true;
}
