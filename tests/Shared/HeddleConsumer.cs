using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LoomSched.Tests.Shared;

/// <summary>
/// What a current heddle consumer checks of a message, field by field, written from the newest upstream models
/// (IranTransitionProject/loom, <c>src/heddle/core/envelope.py</c> at af0f52a and <c>messages.py</c> at 8a064fe):
/// the <c>WireEnvelope</c> (declared fields and their types, no other top-level key unless it starts with <c>_</c>),
/// then the body its <c>payload_type</c> names (required fields, types, enumerations). Upstream ignores unknown body
/// keys; this check also holds loomsched to sending none (no <c>created_at</c>, no <c>payload</c> in a task), and to
/// its own promises (a UUID v7 <c>message_id</c>, UTC times).
/// </summary>
internal static partial class HeddleConsumer
{
    private static readonly string[] EnvelopeFields =
        ["message_id", "payload_type", "payload", "origin", "correlation_id", "causation_id", "occurred_at", "recorded_at"];

    private static readonly string[] GoalFields = ["goal_id", "instruction", "context", "request_id", "priority"];

    private static readonly string[] TaskFields =
        ["task_id", "parent_task_id", "worker_type", "input", "model_tier", "priority", "request_id", "metadata"];

    private static readonly string[] Priorities = ["low", "normal", "high", "critical"];
    private static readonly string[] Tiers = ["local", "standard", "frontier"];

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    private static partial Regex UuidV7();

    /// <summary>Everything a heddle consumer (or loomsched's promises) would object to; empty when it accepts.</summary>
    public static List<string> Problems(ReadOnlyMemory<byte> message)
    {
        var problems = new List<string>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message);
        }
        catch (JsonException e)
        {
            return [$"not JSON: {e.Message}"];
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return [$"the message is {root.ValueKind}, not an object"];
            }
            foreach (var property in root.EnumerateObject())
            {
                if (!property.Name.StartsWith('_') && !EnvelopeFields.Contains(property.Name))
                {
                    problems.Add($"unknown top-level key \"{property.Name}\" on WireEnvelope");
                }
            }
            Text(root, "message_id", required: true, nullable: false, problems);
            if (root.TryGetProperty("message_id", out var id) && id.ValueKind == JsonValueKind.String && !UuidV7().IsMatch(id.GetString()!))
            {
                problems.Add($"message_id \"{id.GetString()}\" is not a UUID v7");
            }
            Text(root, "origin", required: true, nullable: true, problems);
            Text(root, "correlation_id", required: true, nullable: true, problems);
            Text(root, "causation_id", required: true, nullable: true, problems);
            Time(root, "occurred_at", problems);
            Time(root, "recorded_at", problems);
            if (Map(root, "payload", required: true, problems) is not { } body)
            {
                return problems;
            }
            string? type = root.TryGetProperty("payload_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            switch (type)
            {
                case "core.OrchestratorGoal":
                    Body(body, GoalFields, problems);
                    Text(body, "goal_id", required: false, nullable: false, problems);
                    Text(body, "instruction", required: true, nullable: false, problems);
                    Map(body, "context", required: false, problems);
                    Text(body, "request_id", required: false, nullable: true, problems);
                    Word(body, "priority", Priorities, problems);
                    break;
                case "core.TaskMessage":
                    Body(body, TaskFields, problems);
                    Text(body, "task_id", required: false, nullable: false, problems);
                    Text(body, "parent_task_id", required: false, nullable: true, problems);
                    Text(body, "worker_type", required: true, nullable: false, problems);
                    Map(body, "input", required: true, problems);
                    Word(body, "model_tier", Tiers, problems);
                    Word(body, "priority", Priorities, problems);
                    Text(body, "request_id", required: false, nullable: true, problems);
                    Map(body, "metadata", required: false, problems);
                    break;
                default:
                    problems.Add($"payload_type {(type is null ? "is missing or not text" : $"\"{type}\" has no registered model")}");
                    break;
            }
        }
        return problems;
    }

    private static void Body(JsonElement body, string[] declared, List<string> problems)
    {
        foreach (var property in body.EnumerateObject())
        {
            if (!declared.Contains(property.Name))
            {
                problems.Add($"the body has \"{property.Name}\", which its model does not declare (heddle would drop it)");
            }
        }
    }

    private static void Text(JsonElement at, string field, bool required, bool nullable, List<string> problems)
    {
        if (!at.TryGetProperty(field, out var value))
        {
            if (required)
            {
                problems.Add($"{field} is missing");
            }
            return;
        }
        if (value.ValueKind != JsonValueKind.String && !(nullable && value.ValueKind == JsonValueKind.Null))
        {
            problems.Add($"{field} is {value.ValueKind}, wanted a string{(nullable ? " or null" : "")}");
        }
    }

    private static JsonElement? Map(JsonElement at, string field, bool required, List<string> problems)
    {
        if (!at.TryGetProperty(field, out var value))
        {
            if (required)
            {
                problems.Add($"{field} is missing");
            }
            return null;
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{field} is {value.ValueKind}, wanted an object");
            return null;
        }
        return value;
    }

    private static void Word(JsonElement at, string field, string[] words, List<string> problems)
    {
        if (at.TryGetProperty(field, out var value) && (value.ValueKind != JsonValueKind.String || !words.Contains(value.GetString())))
        {
            problems.Add($"{field} is {value.GetRawText()}, wanted one of {string.Join(", ", words)}");
        }
    }

    private static void Time(JsonElement at, string field, List<string> problems)
    {
        if (!at.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.String)
        {
            problems.Add($"{field} is missing or not text");
            return;
        }
        string text = value.GetString()!;
        if (!text.EndsWith('Z') || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _))
        {
            problems.Add($"{field} \"{text}\" is not a UTC ISO 8601 time");
        }
    }
}
