using LoomSched.Config;
using LoomSched.Triggers;

namespace LoomSched.Scheduling;

/// <summary>Which missed slots to fire after downtime, by the schedule's <c>catch_up</c> policy.</summary>
public static class CatchUpPlanner
{
    /// <summary>The most slots <c>all</c> fires, whatever the window: a catch-up must never flood.</summary>
    public const int MaxSlots = 1000;

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
