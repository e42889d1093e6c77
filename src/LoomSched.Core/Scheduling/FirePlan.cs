using LoomSched.Config;
using LoomSched.Triggers;

namespace LoomSched.Scheduling;

/// <summary>
/// What <c>loomsched plan</c> shows: how many fires each minute and each second of the coming hours brings, across
/// all schedules, as the engine would fire them if it started at the plan's start (jitter included).
/// </summary>
public sealed class FirePlan
{
    /// <summary>The most slots counted per schedule: a millisecond interval over a week would be 600 million.</summary>
    public const int SlotCap = 1_000_000;

    private readonly int[] _perSecond;

    private FirePlan(DateTimeOffset from, TimeSpan horizon)
    {
        From = from;
        Horizon = horizon;
        _perSecond = new int[(int)Math.Ceiling(horizon.TotalSeconds)];
        FiresPerMinute = new int[(int)Math.Ceiling(horizon.TotalMinutes)];
        ExpandingPerMinute = new int[FiresPerMinute.Length];
    }

    /// <summary>Where the plan starts (a whole minute).</summary>
    public DateTimeOffset From { get; }

    /// <summary>How far it looks.</summary>
    public TimeSpan Horizon { get; }

    /// <summary>Fires per minute from <see cref="From"/>.</summary>
    public int[] FiresPerMinute { get; }

    /// <summary>Of those, the fires of schedules with <c>expand_from</c>: each sends as many messages as the function returns.</summary>
    public int[] ExpandingPerMinute { get; }

    /// <summary>Every fire in the horizon.</summary>
    public long Fires { get; private set; }

    /// <summary>The schedules with more than <see cref="SlotCap"/> slots in the horizon: counted up to the cap.</summary>
    public List<string> Capped { get; } = [];

    /// <summary>The second with the most fires, and how many.</summary>
    public (DateTimeOffset At, int Fires) BusiestSecond
    {
        get
        {
            int best = 0;
            for (int i = 1; i < _perSecond.Length; i++)
            {
                if (_perSecond[i] > _perSecond[best])
                {
                    best = i;
                }
            }
            return (From.AddSeconds(best), _perSecond.Length == 0 ? 0 : _perSecond[best]);
        }
    }

    /// <summary>The <paramref name="count"/> minutes with the most fires (none without fires), busiest first, earlier first on a tie.</summary>
    public IReadOnlyList<(DateTimeOffset At, int Fires)> PeakMinutes(int count) =>
        [.. FiresPerMinute.Select((fires, i) => (At: From.AddMinutes(i), Fires: fires))
            .Where(m => m.Fires > 0).OrderByDescending(m => m.Fires).ThenBy(m => m.At).Take(count)];

    /// <summary>
    /// The plan of <paramref name="config"/> for <paramref name="horizon"/> from <paramref name="from"/>, counted in
    /// minutes from the minute <paramref name="from"/> is in. With <paramref name="jitterIfNone"/>, a schedule without <c>jitter_seconds</c> is planned
    /// as if it had that much (at most its interval): what jitter would make of a thundering herd.
    /// </summary>
    public static FirePlan Of(SchedulerConfig config, DateTimeOffset from, TimeSpan horizon, TimeSpan? jitterIfNone = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(horizon, TimeSpan.Zero);
        var start = new DateTimeOffset(from.UtcTicks - from.UtcTicks % TimeSpan.TicksPerMinute, TimeSpan.Zero);
        var plan = new FirePlan(start, horizon);
        var end = start + horizon;
        foreach (var schedule in config.Schedules.Where(s => s.Enabled))
        {
            var jitter = schedule.Jitter ?? WhatIf(config.Name, schedule, jitterIfNone);
            int counted = 0;
            // As a daemon started at `from` would: interval grids start there.
            var at = from;
            var last = DateTimeOffset.MinValue;
            while (schedule.Trigger.NextAfter(at, from) is { } slot && slot < end)
            {
                if (++counted > SlotCap)
                {
                    plan.Capped.Add(schedule.Name);
                    break;
                }
                at = slot;
                // In slot order, as the engine fires them: a slot jittered before the one ahead of it waits for it.
                var fires = jitter?.FireTimeOf(slot) ?? slot;
                fires = last > fires ? last : fires;
                last = fires;
                if (fires >= end)
                {
                    continue;
                }
                var offset = fires - start;
                plan.FiresPerMinute[(int)offset.TotalMinutes]++;
                plan._perSecond[(int)offset.TotalSeconds]++;
                if (schedule.ExpandFrom is not null)
                {
                    plan.ExpandingPerMinute[(int)offset.TotalMinutes]++;
                }
                plan.Fires++;
            }
        }
        return plan;
    }

    private static SlotJitter? WhatIf(string scheduler, ScheduleDefinition schedule, TimeSpan? jitter)
    {
        if (jitter is not { } wanted)
        {
            return null;
        }
        // As validation has it: an interval schedule's jitter is at most its interval.
        var max = schedule.Interval is { } interval && interval < wanted ? interval : wanted;
        return max > TimeSpan.Zero ? new SlotJitter(scheduler, schedule.Name, max) : null;
    }
}
