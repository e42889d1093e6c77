using LoomSched.Triggers;

namespace LoomSched.Config;

/// <summary>One validated schedule entry.</summary>
public sealed class ScheduleDefinition
{
    /// <summary>
    /// Unique name: the entry's, or for a later entry of a name the file gave before, <c>{name}#2</c> (#3, …).
    /// </summary>
    public required string Name { get; init; }

    /// <summary>The name as the entry writes it, which Loom puts in <c>scheduled_by</c> (a twin's too).</summary>
    public string ScheduledBy { get => _scheduledBy ?? Name; init => _scheduledBy = value; }

    private readonly string? _scheduledBy;

    /// <summary>The cron expression as written, or null for an interval schedule.</summary>
    public string? Cron { get; init; }

    /// <summary>The interval, or null for a cron schedule.</summary>
    public TimeSpan? Interval { get; init; }

    /// <summary>The zone cron slots are computed in.</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    /// <summary>The slot maths for this entry.</summary>
    public required ITrigger Trigger { get; init; }

    /// <summary>What its messages carry: a <see cref="GoalTemplate"/> or a <see cref="TaskTemplate"/>.</summary>
    public required MessageTemplate Template { get; init; }

    /// <summary>The expansion function's name, or null.</summary>
    public string? ExpandFrom { get; init; }

    /// <summary><c>expand_args</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, object?> ExpandArgs { get; init; } = FreeformMap.Empty;

    /// <summary><c>expand_timeout_seconds</c>, 30 s by default.</summary>
    public TimeSpan ExpandTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>max_expansion</c>, 100,000 by default.</summary>
    public int MaxExpansion { get; init; } = 100_000;

    /// <summary>Per-entry <c>catch_up</c>, or null to use the config's.</summary>
    public CatchUpOptions? CatchUp { get; init; }

    /// <summary><c>enabled</c>: false keeps the schedule loaded and shown, but it never fires.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary><c>at</c>: the one instant a one-shot fires at; null for a recurring schedule.</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary><c>start_at</c>: no slot before it (inclusive bound); null when unbounded.</summary>
    public DateTimeOffset? StartAt { get; init; }

    /// <summary><c>end_at</c>: no slot at or after it (exclusive bound); null when unbounded.</summary>
    public DateTimeOffset? EndAt { get; init; }

    /// <summary><c>jitter_seconds</c>: each slot's fire is delayed by its own delay; null for none.</summary>
    public SlotJitter? Jitter { get; init; }

    /// <summary>When <paramref name="slot"/> fires: the slot, or with <see cref="Jitter"/> the slot plus its delay.</summary>
    public DateTimeOffset FireTimeOf(DateTimeOffset slot) => Jitter?.FireTimeOf(slot) ?? slot;

    /// <summary>Where the entry starts in its file.</summary>
    public SourceLocation Location { get; init; }

    /// <summary>
    /// A digest (32 hex digits) of a canonical text of the whole definition and what it inherits: equal
    /// fingerprints mean the schedule did not change (a reload keeps its slots and counters).
    /// </summary>
    public required string Fingerprint { get; init; }
}
