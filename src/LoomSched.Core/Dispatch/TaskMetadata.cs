using System.Text.Json.Serialization;

namespace LoomSched.Dispatch;

/// <summary>The <c>metadata</c> of a scheduled task.</summary>
public sealed class TaskMetadata
{
    /// <summary>The schedule's name.</summary>
    [JsonPropertyName("scheduled_by")] public required string ScheduledBy { get; init; }

    /// <summary>The slot, ISO.</summary>
    [JsonPropertyName("scheduled_for")] public required string ScheduledFor { get; init; }
}
