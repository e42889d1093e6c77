using LoomSched.Config;
using LoomSched.Triggers;

namespace LoomSched.Scheduling;

/// <summary>Which missed slots to fire after downtime, by the schedule's <c>catch_up</c> policy.</summary>
public static class CatchUpPlanner
{
    /// <summary>The most slots <c>all</c> fires, whatever the window: a catch-up must never flood.</summary>
    public const int MaxSlots = 1000;

    /// <summary>
    /// The slots a schedule fires on taking over (a new leader, or a restart with state), oldest first: the slot its
    /// previous owner left claimed (<paramref name="leftClaimed"/>), sent again; unless paused, the slots missed since
    /// the recorded one by <paramref name="policy"/>; and a one-shot's instant that came due in this process
    /// (<paramref name="cameDue"/>) while no owner claimed it — its only slot, so late rather than never, by any policy.
    /// </summary>
    /// <param name="trigger">The schedule's trigger.</param>
    /// <param name="anchor">The anchor of its interval grid.</param>
    /// <param name="recorded">The slot the state bucket records for it, or null when it records none.</param>
    /// <param name="leftClaimed">The record is a claim of another process's, not marked done.</param>
    /// <param name="cameDue">The last slot that came due in this process (see <see cref="ScheduleStatus.LastDue"/>).</param>
    /// <param name="paused">The schedule is paused here.</param>
    /// <param name="now">The take-over's time.</param>
    /// <param name="policy">The schedule's <c>catch_up</c>.</param>
    public static IReadOnlyList<DateTimeOffset> TakeOverSlots(
        ITrigger trigger, DateTimeOffset anchor, DateTimeOffset? recorded, bool leftClaimed, DateTimeOffset? cameDue,
        bool paused, DateTimeOffset now, CatchUpOptions policy)
    {
        var slots = new List<DateTimeOffset>();
        if (recorded is { } claimed && leftClaimed)
        {
            slots.Add(claimed);
        }
        if (paused)
        {
            return slots;
        }
        if (recorded is { } last)
        {
            slots.AddRange(MissedSlots(trigger, anchor, last, now, policy));
        }
        var once = (trigger as WindowedTrigger)?.Inner as OneShotTrigger ?? trigger as OneShotTrigger;
        if (once is { At: var at } && cameDue == at && at <= now && (recorded is null || recorded < at) && !slots.Contains(at))
        {
            slots.Add(at);
        }
        return slots;
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
