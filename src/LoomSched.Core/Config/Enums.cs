namespace LoomSched.Config;

/// <summary><c>dispatch_type:</c> which section a schedule publishes (once loaded, its template's type says it).</summary>
public enum DispatchType
{
    /// <summary>An OrchestratorGoal on <c>{p}.goals.incoming</c>.</summary>
    Goal,
    /// <summary>A TaskMessage on <c>{p}.tasks.incoming</c>.</summary>
    Task,
}

/// <summary>Loom's message priority (<c>low</c> <c>normal</c> <c>high</c> <c>critical</c>).</summary>
public enum Priority
{
    /// <summary><c>low</c></summary>
    Low,
    /// <summary><c>normal</c> (default)</summary>
    Normal,
    /// <summary><c>high</c></summary>
    High,
    /// <summary><c>critical</c></summary>
    Critical,
}

/// <summary>Loom's model tier for tasks (<c>local</c> <c>standard</c> <c>frontier</c>).</summary>
public enum ModelTier
{
    /// <summary><c>local</c> (default)</summary>
    Local,
    /// <summary><c>standard</c></summary>
    Standard,
    /// <summary><c>frontier</c></summary>
    Frontier,
}

/// <summary>Control actions a config may allow on the control subject.</summary>
[Flags]
public enum ControlActions
{
    /// <summary>Nothing allowed.</summary>
    None = 0,
    /// <summary><c>status</c></summary>
    Status = 1,
    /// <summary><c>trigger</c></summary>
    Trigger = 2,
    /// <summary><c>pause</c></summary>
    Pause = 4,
    /// <summary><c>resume</c></summary>
    Resume = 8,
    /// <summary><c>reload</c></summary>
    Reload = 16,
    /// <summary><c>create</c>: a schedule made at run time (never allowed unless listed).</summary>
    Create = 32,
    /// <summary><c>update</c>: a run-time schedule replaced (never allowed unless listed).</summary>
    Update = 64,
    /// <summary><c>delete</c>: a run-time schedule removed (never allowed unless listed).</summary>
    Delete = 128,
    /// <summary><c>get</c>: one run-time schedule's entry (read-only, as <c>status</c>).</summary>
    Get = 256,
    /// <summary><c>list</c>: the schedules and where each comes from (read-only, as <c>status</c>).</summary>
    List = 512,
    /// <summary>
    /// The default when <c>control.actions</c> is absent: everything but <c>create</c>, <c>update</c> and <c>delete</c>,
    /// since whoever may create a schedule may send goals to the orchestrator's agents.
    /// </summary>
    All = Status | Trigger | Pause | Resume | Reload | Get | List,
}

/// <summary>What to do with slots missed while nothing ran (issue: high availability).</summary>
public enum CatchUpPolicy
{
    /// <summary>Missed slots are not fired (Loom's behaviour, the default).</summary>
    Skip,
    /// <summary>One missed slot is fired.</summary>
    Once,
    /// <summary>Every missed slot inside the window is fired, in order.</summary>
    All,
}

/// <summary>How replicas coordinate.</summary>
public enum CoordinationMode
{
    /// <summary>A single instance, no shared state (the default).</summary>
    None,
    /// <summary>One leader among replicas, by a JetStream KV lease.</summary>
    Leader,
    /// <summary>A single instance keeping slot state in JetStream KV.</summary>
    State,
}

/// <summary>Wire spellings of the enums.</summary>
public static class WireNames
{
    /// <summary>The wire spelling of a priority.</summary>
    public static string Of(Priority p) => p switch
    {
        Priority.Low => "low",
        Priority.Normal => "normal",
        Priority.High => "high",
        Priority.Critical => "critical",
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    /// <summary>The wire spelling of a model tier.</summary>
    public static string Of(ModelTier t) => t switch
    {
        ModelTier.Local => "local",
        ModelTier.Standard => "standard",
        ModelTier.Frontier => "frontier",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };
}

/// <summary>How messages are framed on the wire (<c>wire:</c>).</summary>
public enum WireFormat
{
    /// <summary><c>bare</c> (default): the body is the message, as Loom's consumers read it.</summary>
    Bare,
    /// <summary><c>envelope</c>: the body rides a heddle <c>WireEnvelope</c>, as current heddle consumers read it.</summary>
    Envelope,
}

/// <summary>What confirms a published message (<c>publish:</c>).</summary>
public enum PublishMode
{
    /// <summary><c>core</c> (default): the NATS server received it (a PING after it was answered).</summary>
    Core,
    /// <summary><c>jetstream</c>: the JetStream stream capturing its subject stored it (PubAck).</summary>
    JetStream,
}
