using System.Text.Json.Serialization;

namespace LoomSched.Dispatch;

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
