using System.Text.Json;
using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// Writes Loom's two messages field for field and byte for byte as the source-generated <see cref="LoomJsonContext"/>
/// writes the types of LoomMessages.cs, which stay the contract's reference (LoomWireFacts holds the two to the same
/// bytes over every kind of value). It is faster where a fire sends many messages: field names are encoded once, the
/// words of an enumeration once, and ids and times are spelled straight into the output as the ASCII they are, where
/// the serializer checks and transcodes each string of each message and the id and time are strings made for it
/// (together about a third of building a big fan-out's bodies, profiled).
/// </summary>
internal static class LoomWire
{
    /// <summary>The bytes of an id and of a time as they are written: quoted.</summary>
    public const int QuotedIdLength = UuidV4.Length + 2;

    private static readonly JsonEncodedText GoalId = JsonEncodedText.Encode("goal_id");
    private static readonly JsonEncodedText Instruction = JsonEncodedText.Encode("instruction");
    private static readonly JsonEncodedText Context = JsonEncodedText.Encode("context");
    private static readonly JsonEncodedText RequestId = JsonEncodedText.Encode("request_id");
    private static readonly JsonEncodedText PriorityName = JsonEncodedText.Encode("priority");
    private static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("created_at");
    private static readonly JsonEncodedText TaskId = JsonEncodedText.Encode("task_id");
    private static readonly JsonEncodedText ParentTaskId = JsonEncodedText.Encode("parent_task_id");
    private static readonly JsonEncodedText WorkerType = JsonEncodedText.Encode("worker_type");
    private static readonly JsonEncodedText Payload = JsonEncodedText.Encode("payload");
    private static readonly JsonEncodedText ModelTierName = JsonEncodedText.Encode("model_tier");
    private static readonly JsonEncodedText Metadata = JsonEncodedText.Encode("metadata");
    private static readonly JsonEncodedText ScheduledBy = JsonEncodedText.Encode("scheduled_by");
    private static readonly JsonEncodedText ScheduledFor = JsonEncodedText.Encode("scheduled_for");

    private static readonly JsonEncodedText Low = JsonEncodedText.Encode(WireNames.Of(Priority.Low));
    private static readonly JsonEncodedText Normal = JsonEncodedText.Encode(WireNames.Of(Priority.Normal));
    private static readonly JsonEncodedText High = JsonEncodedText.Encode(WireNames.Of(Priority.High));
    private static readonly JsonEncodedText Critical = JsonEncodedText.Encode(WireNames.Of(Priority.Critical));
    private static readonly JsonEncodedText Local = JsonEncodedText.Encode(WireNames.Of(ModelTier.Local));
    private static readonly JsonEncodedText Standard = JsonEncodedText.Encode(WireNames.Of(ModelTier.Standard));
    private static readonly JsonEncodedText Frontier = JsonEncodedText.Encode(WireNames.Of(ModelTier.Frontier));

    /// <summary>Writes a new random UUID, quoted, into <paramref name="into"/> (<see cref="QuotedIdLength"/> bytes).</summary>
    public static void NewQuotedId(Span<byte> into)
    {
        into[0] = (byte)'"';
        UuidV4.Fill(into.Slice(1, UuidV4.Length));
        into[UuidV4.Length + 1] = (byte)'"';
    }

    /// <summary>Spells <paramref name="instant"/> the Loom way, quoted, into <paramref name="into"/>; returns its length.</summary>
    public static int QuotedTime(DateTimeOffset instant, Span<byte> into)
    {
        into[0] = (byte)'"';
        int length = LoomTime.FormatUtf8(instant, into[1..]);
        into[length + 1] = (byte)'"';
        return length + 2;
    }

    /// <summary>An <c>OrchestratorGoal</c>.</summary>
    /// <param name="writer">Where it goes.</param>
    /// <param name="quotedId">The goal's id, quoted (<see cref="NewQuotedId"/>).</param>
    /// <param name="goal">The schedule's goal.</param>
    /// <param name="context">The context with the expansion map merged over it.</param>
    /// <param name="quotedCreatedAt">created_at, quoted (<see cref="QuotedTime"/>).</param>
    public static void WriteGoal(
        Utf8JsonWriter writer, ReadOnlySpan<byte> quotedId, GoalTemplate goal, MergedMap context, ReadOnlySpan<byte> quotedCreatedAt)
    {
        writer.WriteStartObject();
        writer.WritePropertyName(GoalId);
        writer.WriteRawValue(quotedId, skipInputValidation: true);
        writer.WriteString(Instruction, goal.Instruction);
        writer.WritePropertyName(Context);
        context.Write(writer);
        writer.WriteNull(RequestId);
        writer.WriteString(PriorityName, Word(goal.Priority));
        writer.WritePropertyName(CreatedAt);
        writer.WriteRawValue(quotedCreatedAt, skipInputValidation: true);
        writer.WriteEndObject();
    }

    /// <summary>A <c>TaskMessage</c>.</summary>
    /// <param name="writer">Where it goes.</param>
    /// <param name="quotedId">The task's id, quoted (<see cref="NewQuotedId"/>).</param>
    /// <param name="task">The schedule's task.</param>
    /// <param name="payload">The payload with the expansion map merged over it.</param>
    /// <param name="quotedCreatedAt">created_at, quoted (<see cref="QuotedTime"/>).</param>
    /// <param name="scheduledBy">The schedule's name.</param>
    /// <param name="quotedSlot">The slot, quoted (<see cref="QuotedTime"/>).</param>
    public static void WriteTask(
        Utf8JsonWriter writer, ReadOnlySpan<byte> quotedId, TaskTemplate task, MergedMap payload, ReadOnlySpan<byte> quotedCreatedAt,
        string scheduledBy, ReadOnlySpan<byte> quotedSlot)
    {
        writer.WriteStartObject();
        writer.WritePropertyName(TaskId);
        writer.WriteRawValue(quotedId, skipInputValidation: true);
        writer.WriteNull(ParentTaskId);
        writer.WriteString(WorkerType, task.WorkerType);
        writer.WritePropertyName(Payload);
        payload.Write(writer);
        writer.WriteString(ModelTierName, Word(task.ModelTier));
        writer.WriteString(PriorityName, Word(task.Priority));
        writer.WritePropertyName(CreatedAt);
        writer.WriteRawValue(quotedCreatedAt, skipInputValidation: true);
        writer.WriteNull(RequestId);
        writer.WritePropertyName(Metadata);
        writer.WriteStartObject();
        writer.WriteString(ScheduledBy, scheduledBy);
        writer.WritePropertyName(ScheduledFor);
        writer.WriteRawValue(quotedSlot, skipInputValidation: true);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static JsonEncodedText Word(Priority priority) => priority switch
    {
        Priority.Low => Low,
        Priority.Normal => Normal,
        Priority.High => High,
        Priority.Critical => Critical,
        _ => throw new ArgumentOutOfRangeException(nameof(priority)),
    };

    private static JsonEncodedText Word(ModelTier tier) => tier switch
    {
        ModelTier.Local => Local,
        ModelTier.Standard => Standard,
        ModelTier.Frontier => Frontier,
        _ => throw new ArgumentOutOfRangeException(nameof(tier)),
    };
}
