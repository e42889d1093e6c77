using System.Text.Json.Serialization;

namespace LoomSched.Dispatch;

/// <summary>Loom's <c>TaskMessage</c>, field for field (README, "Wire format": a compatibility contract).</summary>
public sealed class TaskMessage
{
    /// <summary>A new UUID v4 per message.</summary>
    [JsonPropertyName("task_id")] public required string TaskId { get; init; }

    /// <summary>Always null for scheduled tasks.</summary>
    [JsonPropertyName("parent_task_id")] public string? ParentTaskId { get; init; }

    /// <summary>From the config.</summary>
    [JsonPropertyName("worker_type")] public required string WorkerType { get; init; }

    /// <summary>The config's payload with the expansion map merged over it.</summary>
    [JsonPropertyName("payload")] public required MergedMap Payload { get; init; }

    /// <summary><c>local</c> <c>standard</c> <c>frontier</c>.</summary>
    [JsonPropertyName("model_tier")] public required string ModelTier { get; init; }

    /// <summary><c>low</c> <c>normal</c> <c>high</c> <c>critical</c>.</summary>
    [JsonPropertyName("priority")] public required string Priority { get; init; }

    /// <summary>UTC ISO 8601 (<see cref="LoomTime"/>).</summary>
    [JsonPropertyName("created_at")] public required string CreatedAt { get; init; }

    /// <summary>Always null for scheduled tasks.</summary>
    [JsonPropertyName("request_id")] public string? RequestId { get; init; }

    /// <summary>Which schedule and slot produced the task.</summary>
    [JsonPropertyName("metadata")] public required TaskMetadata Metadata { get; init; }
}
