using System.Text.Json.Serialization;

namespace LoomSched.Dispatch;

/// <summary>
/// heddle's <c>WireEnvelope</c> (<c>wire: envelope</c>), field for field in upstream's order: the frame every message
/// rides in for today's heddle consumers, which reject any other top-level key that does not start with <c>_</c>.
/// </summary>
/// <typeparam name="TBody">The body: <see cref="HeddleGoal"/> or <see cref="HeddleTask"/>.</typeparam>
public sealed class WireEnvelope<TBody>
{
    /// <summary>A new UUID v7 per message.</summary>
    [JsonPropertyName("message_id")] public required string MessageId { get; init; }

    /// <summary><c>core.OrchestratorGoal</c> or <c>core.TaskMessage</c>.</summary>
    [JsonPropertyName("payload_type")] public required string PayloadType { get; init; }

    /// <summary>The body.</summary>
    [JsonPropertyName("payload")] public required TBody Payload { get; init; }

    /// <summary>Who sent it: <c>loomsched/{scheduler name}</c>.</summary>
    [JsonPropertyName("origin")] public string? Origin { get; init; }

    /// <summary>Always null for scheduled messages.</summary>
    [JsonPropertyName("correlation_id")] public string? CorrelationId { get; init; }

    /// <summary>Always null for scheduled messages.</summary>
    [JsonPropertyName("causation_id")] public string? CausationId { get; init; }

    /// <summary>The slot, UTC ISO 8601 (<see cref="LoomTime"/>).</summary>
    [JsonPropertyName("occurred_at")] public required string OccurredAt { get; init; }

    /// <summary>When the message was made, UTC ISO 8601 (<see cref="LoomTime"/>).</summary>
    [JsonPropertyName("recorded_at")] public required string RecordedAt { get; init; }
}

/// <summary>heddle's <c>OrchestratorGoal</c> as it rides an envelope: Loom's without <c>created_at</c>.</summary>
public sealed class HeddleGoal
{
    /// <summary>A new UUID v4 per message.</summary>
    [JsonPropertyName("goal_id")] public required string GoalId { get; init; }

    /// <summary>From the config.</summary>
    [JsonPropertyName("instruction")] public required string Instruction { get; init; }

    /// <summary>The config's context with the expansion map merged over it.</summary>
    [JsonPropertyName("context")] public required MergedMap Context { get; init; }

    /// <summary>Always null for scheduled goals.</summary>
    [JsonPropertyName("request_id")] public string? RequestId { get; init; }

    /// <summary><c>low</c> <c>normal</c> <c>high</c> <c>critical</c>.</summary>
    [JsonPropertyName("priority")] public required string Priority { get; init; }
}

/// <summary>heddle's <c>TaskMessage</c> as it rides an envelope: the config's <c>payload</c> is its <c>input</c>.</summary>
public sealed class HeddleTask
{
    /// <summary>A new UUID v4 per message.</summary>
    [JsonPropertyName("task_id")] public required string TaskId { get; init; }

    /// <summary>Always null for scheduled tasks.</summary>
    [JsonPropertyName("parent_task_id")] public string? ParentTaskId { get; init; }

    /// <summary>From the config.</summary>
    [JsonPropertyName("worker_type")] public required string WorkerType { get; init; }

    /// <summary>The config's <c>payload</c> with the expansion map merged over it.</summary>
    [JsonPropertyName("input")] public required MergedMap Input { get; init; }

    /// <summary><c>local</c> <c>standard</c> <c>frontier</c>.</summary>
    [JsonPropertyName("model_tier")] public required string ModelTier { get; init; }

    /// <summary><c>low</c> <c>normal</c> <c>high</c> <c>critical</c>.</summary>
    [JsonPropertyName("priority")] public required string Priority { get; init; }

    /// <summary>Always null for scheduled tasks.</summary>
    [JsonPropertyName("request_id")] public string? RequestId { get; init; }

    /// <summary>Which schedule and slot produced the task.</summary>
    [JsonPropertyName("metadata")] public required TaskMetadata Metadata { get; init; }
}
