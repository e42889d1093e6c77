using LoomSched.Config;
using LoomSched.Triggers;

namespace LoomSched.Scheduling;

/// <summary>Which missed slots to fire after downtime, by the schedule's <c>catch_up</c> policy.</summary>
public static class CatchUpPlanner
{
    /// <summary>The most slots <c>all</c> fires, whatever the window: a catch-up must never flood.</summary>
    public const int MaxSlots = 1000;

    /// <summary>
    /// What a schedule does on taking over (a new leader, or a restart with state). It fires, oldest first: the slot
    /// its previous owner left claimed (<paramref name="leftClaimed"/>), sent again; unless paused, the slots missed
    /// since the recorded one by <paramref name="policy"/>; and a one-shot's instant that came due in this process
    /// (<paramref name="cameDue"/>) while no owner claimed it — its only slot, so late rather than never, by any policy.
    /// The slots after the recorded one up to <paramref name="waitingSince"/> are the ones missed while nothing ran;
    /// the later ones came due in this process, which decides them as it decides any slot.
    /// </summary>
    /// <param name="trigger">The schedule's trigger.</param>
    /// <param name="anchor">The anchor of its interval grid.</param>
    /// <param name="recorded">The slot the state bucket records for it, or null when it records none.</param>
    /// <param name="leftClaimed">The record is a claim of another process's, not marked done.</param>
    /// <param name="cameDue">The last slot that came due in this process (see <see cref="ScheduleStatus.LastDue"/>).</param>
    /// <param name="paused">The schedule is paused here.</param>
    /// <param name="now">The take-over's time.</param>
    /// <param name="policy">The schedule's <c>catch_up</c>.</param>
    /// <param name="waitingSince">
    /// Since when this process's fires wait for the take-over instead of being refused as a follower's: its start in
    /// <c>state</c> mode, the won lease for a leader.
    /// </param>
    public static TakeOverPlan TakeOver(
        ITrigger trigger, DateTimeOffset anchor, DateTimeOffset? recorded, bool leftClaimed, DateTimeOffset? cameDue,
        bool paused, DateTimeOffset now, CatchUpOptions policy, DateTimeOffset waitingSince)
    {
        var slots = new List<DateTimeOffset>();
        DateTimeOffset? resent = null, oneShot = null;
        if (recorded is { } claimed && leftClaimed)
        {
            slots.Add(claimed);
            resent = claimed;
        }
        if (paused)
        {
            // A paused schedule fires none of its slots: passing them over is what its pause is for.
            return new TakeOverPlan(slots, resent, null, null);
        }
        if (recorded is { } last)
        {
            slots.AddRange(MissedSlots(trigger, anchor, last, now, policy));
        }
        var once = (trigger as WindowedTrigger)?.Inner as OneShotTrigger ?? trigger as OneShotTrigger;
        if (once is { At: var at } && cameDue == at && at <= now && (recorded is null || recorded < at) && !slots.Contains(at))
        {
            slots.Add(at);
            oneShot = at;
        }
        var missed = recorded is { } after
            ? Missed(trigger, anchor, after, waitingSince < now ? waitingSince : now, slots, policy.Policy)
            : null;
        return new TakeOverPlan(slots, resent, oneShot, missed);
    }

    /// <summary>The slots strictly after <paramref name="after"/> up to <paramref name="until"/>, and which of them <paramref name="slots"/> fires.</summary>
    private static MissedWhileDown? Missed(
        ITrigger trigger, DateTimeOffset anchor, DateTimeOffset after, DateTimeOffset until, List<DateTimeOffset> slots, CatchUpPolicy policy)
    {
        if (trigger.NextAfter(after, anchor) is not { } first || first > until)
        {
            return null;
        }
        long count;
        DateTimeOffset last;
        if (trigger is IntervalTrigger interval)
        {
            count = SlotPolicy.CountSlots(trigger, anchor, after, until);
            last = first + TimeSpan.FromTicks((count - 1) * interval.Interval.Ticks);
        }
        else
        {
            // As a stall counts them: a cron's at most SlotPolicy.MaxCounted.
            (count, last) = (1, first);
            for (var t = trigger.NextAfter(first, anchor); t is { } v && v <= until && count < SlotPolicy.MaxCounted; t = trigger.NextAfter(v, anchor))
            {
                (count, last) = (count + 1, v);
            }
        }
        return new MissedWhileDown(count, first, last, [.. slots.Where(s => s >= first && s <= last)], policy);
    }

    /// <summary>
    /// The slots strictly after <paramref name="lastSlot"/> and at or before <paramref name="now"/>, chosen by
    /// <paramref name="policy"/>: none for <c>skip</c>; the latest for <c>once</c>; for <c>all</c>, each one no older
    /// than the window, oldest first (at most <see cref="MaxSlots"/>, the newest kept).
    /// </summary>
    public static IReadOnlyList<DateTimeOffset> MissedSlots(
        ITrigger trigger, DateTimeOffset anchor, DateTimeOffset lastSlot, DateTimeOffset now, CatchUpOptions policy)
    {
        if (policy.Policy == CatchUpPolicy.Skip || lastSlot >= now)
        {
            return [];
        }
        var windowStart = now - TimeSpan.FromSeconds(policy.WindowSeconds);
        var from = lastSlot > windowStart ? lastSlot : windowStart - TimeSpan.FromTicks(1);
        var slots = new Queue<DateTimeOffset>();
        for (var next = trigger.NextAfter(from, anchor); next is { } t && t <= now; next = trigger.NextAfter(t, anchor))
        {
            if (t <= lastSlot)
            {
                continue;
            }
            slots.Enqueue(t);
            if (slots.Count > (policy.Policy == CatchUpPolicy.Once ? 1 : MaxSlots))
            {
                slots.Dequeue();
            }
        }
        return [.. slots];
    }
}

/// <summary>What a take-over does for one schedule (<see cref="CatchUpPlanner.TakeOver"/>).</summary>
/// <param name="Slots">The slots it fires, oldest first.</param>
/// <param name="Resent">Of them, the slot its previous owner claimed and did not mark done, sent again.</param>
/// <param name="OneShot">Of them, a one-shot's instant that came due in this process while no owner claimed it.</param>
/// <param name="Missed">The slots it missed while nothing ran, and what became of them; null when none.</param>
public sealed record TakeOverPlan(
    IReadOnlyList<DateTimeOffset> Slots, DateTimeOffset? Resent, DateTimeOffset? OneShot, MissedWhileDown? Missed);

/// <summary>The slots a schedule missed while nothing ran (after the recorded one), and which its catch-up fires.</summary>
/// <param name="Count">How many there are (a cron's at most <see cref="SlotPolicy.MaxCounted"/>, as after a stall).</param>
/// <param name="First">The first of them.</param>
/// <param name="Last">The last of them.</param>
/// <param name="Fired">Those the catch-up fires, oldest first.</param>
/// <param name="Policy">The schedule's <c>catch_up</c> policy, which chose them.</param>
public sealed record MissedWhileDown(long Count, DateTimeOffset First, DateTimeOffset Last, IReadOnlyList<DateTimeOffset> Fired, CatchUpPolicy Policy)
{
    /// <summary>The ones that never go out: the schedule's <c>missed</c> counter counts them, as it counts a stall's.</summary>
    public long PassedOver => Math.Max(0, Count - Fired.Count);
}
