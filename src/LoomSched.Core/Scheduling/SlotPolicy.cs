using LoomSched.Config;
using LoomSched.Triggers;

namespace LoomSched.Scheduling;

/// <summary>What becomes of a slot that comes due (<see cref="SlotPolicy.Decide"/>).</summary>
internal enum SlotDecision
{
    /// <summary>The schedule is idle: the slot fires.</summary>
    Fire,

    /// <summary>Slots are queued behind the running fire (a catch-up run): this one joins them, the oldest dropped when full.</summary>
    CatchUp,

    /// <summary>Slots are queued behind the running fire under <c>catch_up: once</c>: this one replaces them.</summary>
    CatchUpLatestOnly,

    /// <summary>The running fire still waits for its claim: the slot starts a queue behind it, under the catch-up policy.</summary>
    CatchUpAfterClaim,

    /// <summary>The previous fire still runs: the slot is skipped and counted.</summary>
    Skip,

    /// <summary>The previous fire still waits for its claim and catch-up is <c>skip</c>: skipped and counted.</summary>
    SkipWhileClaiming,
}

/// <summary>The next slot after a due one (<see cref="SlotPolicy.After"/>), and the slots a stall passed over.</summary>
/// <param name="Next">The slot to wait for; null when the trigger has none.</param>
/// <param name="Missed">Slots that came due while the loop could not fire them; zero without a stall.</param>
/// <param name="Stalled">The slot after the due one had already passed: the due slot stood for the missed ones.</param>
internal readonly record struct SlotPlan(DateTimeOffset? Next, long Missed, bool Stalled);

/// <summary>
/// The engine's decisions about slots, as pure functions of what the schedule is doing and the time: kept apart so
/// that every case can be tested as a table, without a loop or a clock.
/// </summary>
internal static class SlotPolicy
{
    /// <summary>Counting a years-long stall of a per-second cron is not worth the time: at most this many are counted.</summary>
    internal const int MaxCounted = 100_000;

    /// <summary>What becomes of a due slot.</summary>
    /// <param name="running">The schedule's previous fire (or catch-up run) has not ended.</param>
    /// <param name="claiming">That fire still waits for the slot gate's answer to its claim.</param>
    /// <param name="queued">Slots are queued behind that fire (a catch-up run, or slots that came during its claim).</param>
    /// <param name="queuedPolicy">The catch-up policy of those queued slots; null for an operator's catch-up run.</param>
    /// <param name="catchUp">The schedule's catch-up policy (its own, else the config's).</param>
    public static SlotDecision Decide(bool running, bool claiming, bool queued, CatchUpPolicy? queuedPolicy, CatchUpPolicy catchUp)
    {
        if (!running)
        {
            return SlotDecision.Fire;
        }
        if (queued)
        {
            return queuedPolicy == CatchUpPolicy.Once ? SlotDecision.CatchUpLatestOnly : SlotDecision.CatchUp;
        }
        if (claiming)
        {
            // Like slots missed in a failover, the ones that come while a claim waits follow the catch-up policy.
            return catchUp == CatchUpPolicy.Skip ? SlotDecision.SkipWhileClaiming : SlotDecision.CatchUpAfterClaim;
        }
        return SlotDecision.Skip;
    }

    /// <summary>
    /// The slot after <paramref name="slot"/>; when that one has passed too (a suspended host, a clock jump, a long GC),
    /// the first after <paramref name="now"/>, the ones between counted as missed: a stall fires once, then on cadence.
    /// </summary>
    /// <remarks>
    /// With <paramref name="jitter"/> a slot fires up to its maximum delay J after it. The next slot n may then be at or
    /// before now without a stall (a delay longer than the gap between slots): it is planned, and fires as soon as its
    /// own fire time has come, so that slots fire in slot order. Only when n + J has passed too did the loop stall; then
    /// every slot whose fire time has passed is counted missed, and the first whose fire time is still to come is next.
    /// Without jitter (J = 0) both rules are the one above.
    /// </remarks>
    public static SlotPlan After(ITrigger trigger, DateTimeOffset anchor, DateTimeOffset slot, DateTimeOffset now, SlotJitter? jitter = null)
    {
        var next = trigger.NextAfter(slot, anchor);
        var reach = jitter?.Max ?? TimeSpan.Zero;
        if (next is not { } n || now - n < reach || n > now)
        {
            return new SlotPlan(next, 0, Stalled: false);
        }
        if (jitter is null)
        {
            return new SlotPlan(trigger.NextAfter(now, anchor), CountSlots(trigger, anchor, slot, now), Stalled: true);
        }
        // Slots up to now - J have fired (or not) for sure; after that, each by its own fire time.
        var surelyPassed = now - reach;
        long missed = CountSlots(trigger, anchor, slot, surelyPassed);
        var candidate = trigger.NextAfter(surelyPassed, anchor);
        for (int looked = 0; candidate is { } c && jitter.FireTimeOf(c) <= now; looked++)
        {
            if (looked == MaxCounted)
            {
                // Only a jitter of many times MaxCounted slots could get here (each slot's delay must keep its fire
                // time passed): the loop stops counting, and the slots up to now are passed over, uncounted.
                return new SlotPlan(trigger.NextAfter(now, anchor), missed, Stalled: true);
            }
            missed++;
            candidate = trigger.NextAfter(c, anchor);
        }
        return new SlotPlan(candidate, missed, Stalled: true);
    }

    /// <summary>Slots strictly after <paramref name="after"/> up to <paramref name="upTo"/> (crons: at most <see cref="MaxCounted"/>).</summary>
    public static long CountSlots(ITrigger trigger, DateTimeOffset anchor, DateTimeOffset after, DateTimeOffset upTo)
    {
        if (trigger is IntervalTrigger interval)
        {
            long ticks = interval.Interval.Ticks;
            return ((upTo - anchor).Ticks / ticks) - ((after - anchor).Ticks / ticks);
        }
        long n = 0;
        for (var t = trigger.NextAfter(after, anchor); t is { } v && v <= upTo && n < MaxCounted; t = trigger.NextAfter(v, anchor))
        {
            n++;
        }
        return n;
    }

    /// <summary>
    /// Whether a slot queued behind a running fire still fires when its turn comes: always for an operator's catch-up
    /// run (no policy), else only within the policy's window, as any missed slot.
    /// </summary>
    public static bool StillWanted(DateTimeOffset slot, DateTimeOffset now, CatchUpOptions? queuedPolicy) =>
        queuedPolicy is null || slot >= now.AddSeconds(-queuedPolicy.WindowSeconds);

    /// <summary>
    /// Where an interval grid must start so that <paramref name="now"/> lies after its start: the anchor itself, or (after
    /// the wall clock went back past it) moved back by whole intervals, so that the slots stay on the same grid.
    /// </summary>
    public static DateTimeOffset GridStartBefore(TimeSpan interval, DateTimeOffset anchor, DateTimeOffset now)
    {
        if (now > anchor)
        {
            return anchor;
        }
        long periods = ((anchor - now).Ticks / interval.Ticks) + 1;
        return anchor - TimeSpan.FromTicks(periods * interval.Ticks);
    }
}
