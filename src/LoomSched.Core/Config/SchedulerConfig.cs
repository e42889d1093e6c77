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
