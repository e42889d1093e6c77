namespace LoomSched.Config.Validation;

/// <summary>The schema's keys and words, one place for the validators and their did-you-mean lists.</summary>
internal static class Vocabulary
{
    public static readonly string[] TopLevelKeys =
        ["name", "subject_prefix", "time_zone", "schedules", "control", "max_pending", "publish", "coordination", "catch_up", "wire", "cron_seconds", "runtime_schedules"];

    public static readonly string[] ScheduleKeys =
    [
        "name", "cron", "interval_seconds", "time_zone", "dispatch_type", "goal", "task",
        "expand_from", "expand_args", "expand_timeout_seconds", "max_expansion", "catch_up", "cron_seconds",
        "at", "start_at", "end_at", "enabled", "jitter_seconds",
    ];

    public static readonly string[] GoalKeys = ["instruction", "context", "priority"];
    public static readonly string[] TaskKeys = ["worker_type", "payload", "model_tier", "priority"];
    public static readonly string[] ControlKeys = ["actions"];
    public static readonly string[] CoordinationKeys = ["mode", "lease_bucket", "state_bucket", "lease_ttl_seconds"];
    public static readonly string[] CatchUpKeys = ["policy", "window_seconds"];
    public static readonly string[] RuntimeScheduleKeys = ["bucket"];

    public static readonly Choices<DispatchType> DispatchTypes = new(("goal", DispatchType.Goal), ("task", DispatchType.Task));

    public static readonly Choices<Priority> Priorities =
        new(("low", Priority.Low), ("normal", Priority.Normal), ("high", Priority.High), ("critical", Priority.Critical));

    public static readonly Choices<ModelTier> ModelTiers =
        new(("local", ModelTier.Local), ("standard", ModelTier.Standard), ("frontier", ModelTier.Frontier));

    public static readonly Choices<ControlActions> Actions = new(
        ("status", ControlActions.Status), ("trigger", ControlActions.Trigger), ("pause", ControlActions.Pause),
        ("resume", ControlActions.Resume), ("reload", ControlActions.Reload), ("create", ControlActions.Create),
        ("update", ControlActions.Update), ("delete", ControlActions.Delete), ("get", ControlActions.Get), ("list", ControlActions.List));

    public static readonly Choices<CoordinationMode> CoordinationModes =
        new(("none", CoordinationMode.None), ("leader", CoordinationMode.Leader), ("state", CoordinationMode.State));

    public static readonly Choices<PublishMode> PublishModes = new(("core", PublishMode.Core), ("jetstream", PublishMode.JetStream));

    public static readonly Choices<WireFormat> WireFormats = new(("bare", WireFormat.Bare), ("envelope", WireFormat.Envelope));

    public static readonly Choices<CronSeconds> CronSecondsOrders = new(("first", CronSeconds.First), ("last", CronSeconds.Last));

    public static readonly Choices<CatchUpPolicy> CatchUpPolicies =
        new(("skip", CatchUpPolicy.Skip), ("once", CatchUpPolicy.Once), ("all", CatchUpPolicy.All));

    /// <summary>Where a key of another level belongs, for a key misplaced in a schedule entry.</summary>
    public static string? PlacementInSchedule(string key) =>
        GoalKeys.Contains(key) && key != "priority" ? "under goal:"
        : TaskKeys.Contains(key) && key != "priority" ? "under task:"
        : key == "priority" ? "under goal: or task:"
        : key is "subject_prefix" or "max_pending" or "publish" or "coordination" or "control" or "wire" or "runtime_schedules" ? "at the top level of the file"
        : null;

    /// <summary>Where a key of another level belongs, for a key misplaced at the top level.</summary>
    public static string? PlacementAtTop(string key) =>
        ScheduleKeys.Contains(key) || GoalKeys.Contains(key) || TaskKeys.Contains(key)
            ? "in a schedule entry, under schedules:"
            : null;
}

/// <summary>
/// The words of one enumerated field and the value of each. The words sit in an array of their own, so that
/// <see cref="FieldReader.Choice{T}"/> does its work on strings once for every T (code generic over a struct is
/// compiled again for each).
/// </summary>
internal sealed class Choices<T>
    where T : struct
{
    public Choices(params (string Word, T Value)[] pairs)
    {
        Words = new string[pairs.Length];
        Values = new T[pairs.Length];
        for (int i = 0; i < pairs.Length; i++)
        {
            (Words[i], Values[i]) = pairs[i];
        }
    }

    public string[] Words { get; }

    public T[] Values { get; }
}
