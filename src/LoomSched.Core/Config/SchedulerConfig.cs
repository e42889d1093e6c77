using LoomSched.Triggers;

namespace LoomSched.Config;

/// <summary>Where a YAML node stands in its file (1-based line and column; 0 for the file as a whole).</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    /// <inheritdoc />
    public override string ToString() => Line == 0 ? UserText.Escape(File) : $"{UserText.Escape(File)}:{Line}:{Column}";
}

/// <summary>A validated scheduler config. Built only by <see cref="ConfigLoader"/>.</summary>
public sealed class SchedulerConfig
{
    /// <summary>The scheduler's name (control subject <c>{p}.scheduler.{name}</c>).</summary>
    public required string Name { get; init; }

    /// <summary>Subject prefix, <c>loom</c> by default.</summary>
    public string SubjectPrefix { get; init; } = "loom";

    /// <summary>Default zone for cron entries (UTC when absent).</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    /// <summary>The schedules, in file order (then the run-time ones, in the running config).</summary>
    public required IReadOnlyList<ScheduleDefinition> Schedules { get => _schedules; init => _schedules = value; }

    private IReadOnlyList<ScheduleDefinition> _schedules = [];

    /// <summary>Control actions allowed on the control subject.</summary>
    public ControlActions AllowedControl { get; init; } = ControlActions.All;

    /// <summary>How many messages may wait while NATS is away (<c>max_pending</c>).</summary>
    public int MaxPending { get; init; } = 10_000;

    /// <summary><c>publish:</c> what confirms a message: the NATS server (<c>core</c>) or a JetStream stream's PubAck.</summary>
    public PublishMode Publish { get; init; } = PublishMode.Core;

    /// <summary><c>wire:</c> bare Loom bodies (the default) or heddle envelopes.</summary>
    public WireFormat Wire { get; init; } = WireFormat.Bare;

    /// <summary>Coordination of replicas (<c>coordination</c>).</summary>
    public CoordinationOptions Coordination { get; init; } = CoordinationOptions.Standalone;

    /// <summary>Default catch-up after downtime (<c>catch_up</c>).</summary>
    public CatchUpOptions CatchUp { get; init; } = CatchUpOptions.Default;

    /// <summary><c>runtime_schedules:</c> the bucket of schedules made at run time, or null (the feature is off).</summary>
    public RuntimeScheduleOptions? RuntimeSchedules { get; init; }

    /// <summary>The top level's <c>cron_seconds</c>, which run-time entries inherit as the file's do.</summary>
    internal Validation.CronSeconds? CronSecondsDefault { get; init; }

    /// <summary>This config with other schedules (the file's and the run-time ones, for the engine).</summary>
    public SchedulerConfig WithSchedules(IReadOnlyList<ScheduleDefinition> schedules)
    {
        var copy = (SchedulerConfig)MemberwiseClone();
        copy._schedules = schedules;
        return copy;
    }

    /// <summary>The file it came from (for messages).</summary>
    public string? SourcePath { get; init; }

    /// <summary>Subject for goals: <c>{p}.goals.incoming</c>.</summary>
    public string GoalSubject => $"{SubjectPrefix}.goals.incoming";

    /// <summary>Subject for tasks: <c>{p}.tasks.incoming</c>.</summary>
    public string TaskSubject => $"{SubjectPrefix}.tasks.incoming";

    /// <summary>This scheduler's control subject: <c>{p}.scheduler.{name}</c>.</summary>
    public string ControlSubject => $"{SubjectPrefix}.scheduler.{Name}";

    /// <summary>The broadcast reload subject: <c>{p}.control.reload</c>.</summary>
    public string ReloadSubject => $"{SubjectPrefix}.control.reload";
}

/// <summary><c>coordination:</c> — how replicas share work.</summary>
public sealed record CoordinationOptions(
    CoordinationMode Mode,
    string LeaseBucket = "loomsched_lease",
    string StateBucket = "loomsched_state",
    double LeaseTtlSeconds = 15)
{
    /// <summary>A single instance without shared state.</summary>
    public static CoordinationOptions Standalone { get; } = new(CoordinationMode.None);
}

/// <summary><c>runtime_schedules:</c> — where schedules made at run time are kept.</summary>
/// <param name="Bucket">The JetStream key-value bucket: key = schedule name (escaped), value = the entry's JSON.</param>
public sealed record RuntimeScheduleOptions(string Bucket);

/// <summary><c>catch_up:</c> — what to do with slots missed while nothing ran.</summary>
public sealed record CatchUpOptions(CatchUpPolicy Policy, double WindowSeconds)
{
    /// <summary><c>skip</c>, as Loom does.</summary>
    public static CatchUpOptions Default { get; } = new(CatchUpPolicy.Skip, 3600);
}

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

    /// <summary>Goal or task.</summary>
    public required DispatchType DispatchType { get; init; }

    /// <summary>The goal template, when <see cref="DispatchType"/> is Goal.</summary>
    public GoalTemplate? Goal { get; init; }

    /// <summary>The task template, when <see cref="DispatchType"/> is Task.</summary>
    public TaskTemplate? Task { get; init; }

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

    /// <summary>Where the entry starts in its file.</summary>
    public SourceLocation Location { get; init; }

    /// <summary>
    /// A digest (32 hex digits) of a canonical text of the whole definition and what it inherits: equal
    /// fingerprints mean the schedule did not change (a reload keeps its slots and counters).
    /// </summary>
    public required string Fingerprint { get; init; }
}

/// <summary><c>goal:</c> of a goal schedule.</summary>
public sealed record GoalTemplate(string Instruction, IReadOnlyDictionary<string, object?> Context, Priority Priority);

/// <summary><c>task:</c> of a task schedule.</summary>
public sealed record TaskTemplate(
    string WorkerType, IReadOnlyDictionary<string, object?> Payload, ModelTier ModelTier, Priority Priority);
