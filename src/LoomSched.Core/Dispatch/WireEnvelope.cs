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
