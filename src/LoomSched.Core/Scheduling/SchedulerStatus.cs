namespace LoomSched.Scheduling;

/// <summary>A snapshot of the engine, as the control subject's <c>status</c> reports it.</summary>
/// <param name="Name">The scheduler's name.</param>
/// <param name="StartedAt">When the engine started.</param>
/// <param name="Now">When the snapshot was taken.</param>
/// <param name="Schedules">Per schedule, in config order.</param>
public sealed record SchedulerStatus(
    string Name, DateTimeOffset StartedAt, DateTimeOffset Now, IReadOnlyList<ScheduleStatus> Schedules)
{
    /// <summary>How long the engine has run.</summary>
    public TimeSpan Uptime => Now - StartedAt;
}

/// <summary>One schedule's state and counters.</summary>
/// <param name="Name">Schedule name.</param>
/// <param name="Trigger">e.g. <c>every 30 s</c> or <c>cron "0 * * * *" (UTC)</c>.</param>
/// <param name="NextFire">
/// When the next slot fires (with <c>jitter_seconds</c>, after the slot); null while paused or disabled, or when no
/// slot is left.
/// </param>
/// <param name="LastSlot">The slot of the last fire.</param>
/// <param name="LastFireAt">When the last fire started.</param>
/// <param name="LastLatenessMs">How late the last fire started after its slot.</param>
/// <param name="Fires">Fires started (scheduled and triggered).</param>
/// <param name="Dispatched">Messages handed to the output port.</param>
/// <param name="Errors">Fires that failed (expansion, serialisation, publish).</param>
/// <param name="Skipped">Slots skipped because the previous fire was still running.</param>
/// <param name="Missed">
/// Slots that never fired: passed over after a stall (the schedule fired once for them), or missed while nothing ran
/// and left out by the take-over's <c>catch_up</c> policy.
/// </param>
/// <param name="Paused">True while paused.</param>
/// <param name="Running">True while a fire is in progress.</param>
/// <param name="LastError">The last failure, as a sentence.</param>
/// <param name="NotClaimed">Slots this replica did not fire because another owned them (followers).</param>
/// <param name="Lateness">How late the scheduled fires started, in buckets.</param>
public sealed record ScheduleStatus(
    string Name, string Trigger, DateTimeOffset? NextFire, DateTimeOffset? LastSlot, DateTimeOffset? LastFireAt,
    double? LastLatenessMs, long Fires, long Dispatched, long Errors, long Skipped, long Missed,
    bool Paused, bool Running, string? LastError, long NotClaimed = 0, LatenessSnapshot? Lateness = null)
{
    /// <summary>Of <see cref="Dispatched"/>, the messages the port dropped (NATS away and <c>max_pending</c> reached).</summary>
    public long Dropped { get; init; }

    /// <summary>The next slot itself (<c>scheduled_for</c>); <see cref="NextFire"/> is when it fires.</summary>
    public DateTimeOffset? NextSlot { get; init; }

    /// <summary>False for <c>enabled: false</c>: the schedule never fires.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>No slot is left: a one-shot after its instant, a window after its end.</summary>
    public bool Done { get; init; }

    /// <summary>
    /// The last slot that came due in this process, fired or not (a follower's slots come due too): a take-over
    /// fires a one-shot whose instant came so while nobody claimed it.
    /// </summary>
    public DateTimeOffset? LastDue { get; init; }
}

/// <summary>The answer to a control command.</summary>
/// <param name="Ok">True when the command was carried out.</param>
/// <param name="Message">What happened, or what was wrong.</param>
public readonly record struct ControlResult(bool Ok, string Message)
{
    internal static ControlResult Done(string message) => new(true, message);
    internal static ControlResult Refused(string message) => new(false, message);
}

/// <summary>What a reload changed.</summary>
/// <param name="Added">Schedules that are new.</param>
/// <param name="Removed">Schedules that are gone.</param>
/// <param name="Changed">Schedules whose definition changed (they restart their cadence).</param>
/// <param name="Unchanged">Schedules that kept their slots and counters (a change of one schedule names none: see <see cref="UnchangedCount"/>).</param>
public sealed record ReloadSummary(
    IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<string> Changed, IReadOnlyList<string> Unchanged)
{
    /// <summary>How many schedules kept their slots and counters.</summary>
    public int UnchangedCount { get; init; } = Unchanged.Count;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Added.Count} added, {Removed.Count} removed, {Changed.Count} changed, {UnchangedCount} unchanged";
}

/// <summary>How a shutdown ended.</summary>
/// <param name="Dispatched">Messages handed to the output port over the engine's life.</param>
/// <param name="Abandoned">Messages built but not handed over because the grace period ran out.</param>
/// <param name="FiresCut">Fires still running when the grace period ran out.</param>
public sealed record DrainResult(long Dispatched, long Abandoned, int FiresCut);
