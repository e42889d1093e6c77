using LoomSched.Config;

namespace LoomSched.Scheduling;

/// <summary>
/// The live state of one schedule inside the engine. Guarded by the engine's lock (<see cref="ScheduleTable.Gate"/>);
/// <see cref="Dispatched"/> and <see cref="Dropped"/> alone are counted with <see cref="Interlocked"/>, by fires between two
/// messages.
/// </summary>
internal sealed class ScheduleState(ScheduleDefinition definition, DateTimeOffset anchor)
{
    public ScheduleDefinition Definition { get; set; } = definition;

    /// <summary>Interval slots are <c>Anchor + k·interval</c>.</summary>
    public DateTimeOffset Anchor { get; set; } = anchor;

    public DateTimeOffset? NextSlot { get; set; }

    /// <summary>Set while the schedule's planning waits to be tried again after a fault.</summary>
    public DateTimeOffset? RetryAt { get; set; }

    /// <summary>
    /// No slot is left: enabled, neither paused nor removed, no fire running, nothing planned and no retry pending (a
    /// one-shot after its instant, a window after its end).
    /// </summary>
    public bool Done => Definition.Enabled && !Paused && !Removed && !Running && NextSlot is null && RetryAt is null;

    /// <summary>Bumped whenever queued entries for this schedule become stale (pause, reload, removal).</summary>
    public long Version { get; set; }

    public bool Paused { get; set; }
    public bool Removed { get; set; }
    public bool Running { get; set; }

    /// <summary>The state this one replaced when a reload changed the definition while its fire ran.</summary>
    public ScheduleState? Predecessor { get; set; }

    /// <summary>
    /// A fire of an earlier definition of this name still runs: its slots are skipped as any overlap is. Under the
    /// table's lock; forgets the earlier states once none runs.
    /// </summary>
    public bool EarlierFireRunning
    {
        get
        {
            for (var earlier = Predecessor; earlier is not null; earlier = earlier.Predecessor)
            {
                if (earlier.Running)
                {
                    return true;
                }
            }
            Predecessor = null;
            return false;
        }
    }

    /// <summary>The running fire waits for the slot gate's answer to its claim.</summary>
    public bool Claiming { get; set; }

    /// <summary>While a catch-up run is active: slots that came due meanwhile, fired after it instead of skipped.</summary>
    public Queue<DateTimeOffset>? Backlog { get; set; }

    /// <summary>Set when the backlog holds slots that came while a claim waited: their catch-up policy.</summary>
    public CatchUpOptions? BacklogPolicy { get; set; }

    public long Fires;
    public long Dispatched;

    /// <summary>Of the dispatched, those the port dropped (NATS away and <c>max_pending</c> reached).</summary>
    public long Dropped;
    public long Errors;
    public long SkippedOverlap;
    public long MissedSlots;

    /// <summary>Slots another replica owned, or that this one could not claim (a follower's slots).</summary>
    public long NotClaimed;
    public DateTimeOffset? LastSlot { get; set; }

    /// <summary>The last slot that came due in this process, whatever became of it (fired, skipped, or not claimed).</summary>
    public DateTimeOffset? LastDue { get; set; }
    public DateTimeOffset? LastFireStartedAt { get; set; }
    public TimeSpan? LastLateness { get; set; }

    /// <summary>Every scheduled fire's lateness, in buckets; made at the first, so a schedule that never fired holds none.</summary>
    public LatenessHistogram? Lateness { get; set; }
    public TimeSpan? LastDuration { get; set; }
    /// <summary>Why the last fire failed, cut in the middle when long: the status carries one per schedule.</summary>
    public string? LastError { get; set => field = value is null ? null : UserText.Elide(value, UserText.LongestShown); }
    public DateTimeOffset? LastErrorAt { get; set; }
}
