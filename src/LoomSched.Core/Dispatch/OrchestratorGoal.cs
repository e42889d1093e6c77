using System.Text.Json.Serialization;

namespace LoomSched.Dispatch;

/// <summary>Loom's <c>OrchestratorGoal</c>, field for field (README, "Wire format": a compatibility contract).</summary>
public sealed class OrchestratorGoal
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

    /// <summary>UTC ISO 8601 (<see cref="LoomTime"/>).</summary>
    [JsonPropertyName("created_at")] public required string CreatedAt { get; init; }
}
