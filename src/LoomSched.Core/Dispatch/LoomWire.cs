using System.Text;
using System.Text.Json;
using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// Writes Loom's two messages field for field and byte for byte as the source-generated <see cref="LoomJsonContext"/>
/// writes the types of LoomMessages.cs, which stay the contract's reference (LoomWireFacts holds both writers here to
/// the same bytes over every kind of value). A fire's one message is written field by field (<see cref="WriteTask"/>,
/// <see cref="WriteGoal"/>): field names and enumeration words are encoded once for all, ids and times spelled
/// straight into the output as the ASCII they are. A fan-out's messages are written from a <see cref="WireFrame"/>,
/// which encodes once what all of them share.
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
    /// <param name="instant">The instant.</param>
    /// <param name="into">Where it goes (<see cref="LoomTime.MaxLength"/> + 2 bytes).</param>
    /// <param name="speller">Spells it, when instants come one after another in the same second; null: from scratch.</param>
    public static int QuotedTime(DateTimeOffset instant, Span<byte> into, LoomTime.Speller? speller = null)
    {
        into[0] = (byte)'"';
        int length = speller is null ? LoomTime.FormatUtf8(instant, into[1..]) : speller.FormatUtf8(instant, into[1..]);
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

/// <summary>
/// What every message of one schedule has in common, as the bytes the serializer would write: the fields around the
/// id, the expansion map and the two times, and the config's map with each value encoded (<see cref="EncodedMap"/>).
/// A body is the frame's pieces with the id, the merged map and the times between them.
/// </summary>
internal sealed class WireFrame
{
    private readonly byte[] _head;         // {"task_id":            | {"goal_id":
    private readonly byte[] _afterId;      // ...,"payload":         | ,"instruction":"...","context":
    private readonly byte[] _afterMap;     // ...,"created_at":      | ,"request_id":null,"priority":"...","created_at":
    private readonly byte[] _afterCreated; // ...,"scheduled_for":   | }
    private readonly bool _slotFollows;    // a task: the slot, then }}

    private WireFrame(string head, byte[] afterId, EncodedMap map, byte[] afterMap, byte[] afterCreated, bool slotFollows)
    {
        _head = Encoding.ASCII.GetBytes(head);
        _afterId = afterId;
        Map = map;
        _afterMap = afterMap;
        _afterCreated = afterCreated;
        _slotFollows = slotFollows;
    }

    /// <summary>The config's map (<c>payload</c> of a task, <c>context</c> of a goal), encoded.</summary>
    public EncodedMap Map { get; }

    /// <summary>The frame of a schedule's messages.</summary>
    public static WireFrame Of(ScheduleDefinition schedule) => schedule.DispatchType == DispatchType.Goal
        ? Goal(schedule.Goal ?? throw new InvalidOperationException($"schedule {schedule.Name} has no goal"))
        : Task(schedule.Task ?? throw new InvalidOperationException($"schedule {schedule.Name} has no task"), schedule.Name);

    /// <summary>The frame of an <c>OrchestratorGoal</c>.</summary>
    public static WireFrame Goal(GoalTemplate goal) => new(
        """{"goal_id":""",
        Join(""","instruction":""", goal.Instruction, ""","context":"""),
        EncodedMap.Of(goal.Context),
        Join(""","request_id":null,"priority":""", WireNames.Of(goal.Priority), ""","created_at":"""),
        "}"u8.ToArray(),
        slotFollows: false);

    /// <summary>The frame of a <c>TaskMessage</c> of schedule <paramref name="scheduledBy"/>.</summary>
    public static WireFrame Task(TaskTemplate task, string scheduledBy) => new(
        """{"task_id":""",
        Join(""","parent_task_id":null,"worker_type":""", task.WorkerType, ""","payload":"""),
        EncodedMap.Of(task.Payload),
        Join2(""","model_tier":""", WireNames.Of(task.ModelTier), ""","priority":""", WireNames.Of(task.Priority), ""","created_at":"""),
        Join(""","request_id":null,"metadata":{"scheduled_by":""", scheduledBy, ""","scheduled_for":"""),
        slotFollows: true);

    /// <summary>Writes one message's body into <paramref name="output"/>.</summary>
    /// <param name="output">Where it goes.</param>
    /// <param name="writer">A writer for the merged map; it is reset onto <paramref name="output"/>.</param>
    /// <param name="quotedId">The message's id, quoted (<see cref="LoomWire.NewQuotedId"/>).</param>
    /// <param name="overlay">The expansion map merged over the config's, or null.</param>
    /// <param name="quotedCreatedAt"><c>created_at</c>, quoted (<see cref="LoomWire.QuotedTime"/>).</param>
    /// <param name="quotedSlot">The slot, quoted: a task's <c>scheduled_for</c> (a goal has none).</param>
    /// <exception cref="UnserializableValueException">A value of the expansion map has no JSON form.</exception>
    public void Write(
        BodyArena output, Utf8JsonWriter writer, ReadOnlySpan<byte> quotedId, IEnumerable<KeyValuePair<string, object?>>? overlay,
        ReadOnlySpan<byte> quotedCreatedAt, ReadOnlySpan<byte> quotedSlot)
    {
        output.Append(_head);
        output.Append(quotedId);
        output.Append(_afterId);
        if (!MergedMap.TryWriteDirect(output, Map, overlay))
        {
            writer.Reset(output);
            MergedMap.Write(writer, Map, overlay);
            writer.Flush();
        }
        output.Append(_afterMap);
        output.Append(quotedCreatedAt);
        output.Append(_afterCreated);
        if (_slotFollows)
        {
            output.Append(quotedSlot);
            output.Append("}}"u8);
        }
    }

    // ASCII before and after a string value, which is encoded (escaped) as the serializer encodes it.
    private static byte[] Join(string before, string value, string after) =>
        [.. Encoding.ASCII.GetBytes(before), .. Quoted(value), .. Encoding.ASCII.GetBytes(after)];

    private static byte[] Join2(string before, string value, string between, string value2, string after) =>
        [.. Join(before, value, between), .. Quoted(value2), .. Encoding.ASCII.GetBytes(after)];

    private static byte[] Quoted(string value) => [(byte)'"', .. JsonEncodedText.Encode(value).EncodedUtf8Bytes, (byte)'"'];
}
