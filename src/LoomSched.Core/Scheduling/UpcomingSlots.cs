using LoomSched.Config;

namespace LoomSched.Scheduling;

/// <summary>What <c>loomsched next</c> shows: the upcoming slots of a schedule.</summary>
public static class UpcomingSlots
{
    /// <summary>
    /// The next <paramref name="count"/> slots after <paramref name="from"/>, as the engine would fire them if it
    /// started at <paramref name="from"/> (interval schedules count from their start). Each slot is given in the
    /// schedule's zone for cron entries, in UTC for intervals. Fewer come back when a cron has no further slot (or a
    /// one-shot's instant or a window's end has passed); none for a disabled schedule. With <c>jitter_seconds</c> each
    /// slot fires at <see cref="ScheduleDefinition.FireTimeOf"/>; the slot is what its messages carry.
    /// </summary>
    public static IReadOnlyList<DateTimeOffset> Of(ScheduleDefinition schedule, DateTimeOffset from, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!schedule.Enabled)
        {
            return [];
        }
        var zone = schedule.Interval is null ? schedule.TimeZone : TimeZoneInfo.Utc;
        var slots = new List<DateTimeOffset>(count);
        var at = from;
        while (slots.Count < count && schedule.Trigger.NextAfter(at, from) is { } next)
        {
            slots.Add(TimeZoneInfo.ConvertTime(next, zone));
            at = next;
        }
        return slots;
    }

    /// <summary>
    /// When each of <paramref name="slots"/> (in order) fires: its jittered time, or the fire before it when that is
    /// later, since the engine fires slots in order and a slot waits for the one before.
    /// </summary>
    public static IReadOnlyList<DateTimeOffset> FireTimes(ScheduleDefinition schedule, IReadOnlyList<DateTimeOffset> slots)
    {
        var fires = new List<DateTimeOffset>(slots.Count);
        foreach (var slot in slots)
        {
            var fire = schedule.FireTimeOf(slot);
            fires.Add(fires.Count > 0 && fires[^1] > fire ? fires[^1].ToOffset(fire.Offset) : fire);
        }
        return fires;
    }
}
