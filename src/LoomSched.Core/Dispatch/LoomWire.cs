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
    private static readonly JsonEncodedText Input = JsonEncodedText.Encode("input");
    private static readonly JsonEncodedText MessageId = JsonEncodedText.Encode("message_id");
    private static readonly JsonEncodedText PayloadType = JsonEncodedText.Encode("payload_type");
    private static readonly JsonEncodedText Origin = JsonEncodedText.Encode("origin");
    private static readonly JsonEncodedText CorrelationId = JsonEncodedText.Encode("correlation_id");
    private static readonly JsonEncodedText CausationId = JsonEncodedText.Encode("causation_id");
    private static readonly JsonEncodedText OccurredAt = JsonEncodedText.Encode("occurred_at");
    private static readonly JsonEncodedText RecordedAt = JsonEncodedText.Encode("recorded_at");
    private static readonly JsonEncodedText GoalType = JsonEncodedText.Encode(GoalPayloadType);
    private static readonly JsonEncodedText TaskType = JsonEncodedText.Encode(TaskPayloadType);

    /// <summary>An enveloped goal's <c>payload_type</c>.</summary>
    public const string GoalPayloadType = "core.OrchestratorGoal";

    /// <summary>An enveloped task's <c>payload_type</c>.</summary>
    public const string TaskPayloadType = "core.TaskMessage";

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

    /// <summary>Writes a new UUID v7 of <paramref name="at"/>, quoted, into <paramref name="into"/> (<see cref="QuotedIdLength"/> bytes).</summary>
    public static void NewQuotedMessageId(Span<byte> into, DateTimeOffset at)
    {
        into[0] = (byte)'"';
        UuidV7.Fill(into.Slice(1, UuidV7.Length), at);
        into[UuidV7.Length + 1] = (byte)'"';
    }

    /// <summary>The envelope's <c>origin</c>: this scheduler, by its name.</summary>
    public static string OriginOf(string schedulerName) => "loomsched/" + schedulerName;

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
        WriteGoalFields(writer, quotedId, goal, context);
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
        WriteTaskFields(writer, quotedId, task, Payload, payload);
        writer.WritePropertyName(CreatedAt);
        writer.WriteRawValue(quotedCreatedAt, skipInputValidation: true);
        WriteTaskEnd(writer, scheduledBy, quotedSlot);
    }

    /// <summary>An <c>OrchestratorGoal</c> in heddle's envelope.</summary>
    /// <param name="writer">Where it goes.</param>
    /// <param name="envelope">The envelope's own fields.</param>
    /// <param name="quotedId">The goal's id, quoted (<see cref="NewQuotedId"/>).</param>
    /// <param name="goal">The schedule's goal.</param>
    /// <param name="context">The context with the expansion map merged over it.</param>
    public static void WriteEnvelopedGoal(
        Utf8JsonWriter writer, in EnvelopeFields envelope, ReadOnlySpan<byte> quotedId, GoalTemplate goal, MergedMap context)
    {
        StartEnvelope(writer, envelope, GoalType);
        WriteGoalFields(writer, quotedId, goal, context);
        writer.WriteEndObject();
        EndEnvelope(writer, envelope);
    }

    /// <summary>A <c>TaskMessage</c> in heddle's envelope: the merged payload is its <c>input</c>.</summary>
    /// <param name="writer">Where it goes.</param>
    /// <param name="envelope">The envelope's own fields.</param>
    /// <param name="quotedId">The task's id, quoted (<see cref="NewQuotedId"/>).</param>
    /// <param name="task">The schedule's task.</param>
    /// <param name="input">The payload with the expansion map merged over it.</param>
    /// <param name="scheduledBy">The schedule's name.</param>
    public static void WriteEnvelopedTask(
        Utf8JsonWriter writer, in EnvelopeFields envelope, ReadOnlySpan<byte> quotedId, TaskTemplate task, MergedMap input,
        string scheduledBy)
    {
        StartEnvelope(writer, envelope, TaskType);
        WriteTaskFields(writer, quotedId, task, Input, input);
        WriteTaskEnd(writer, scheduledBy, envelope.QuotedOccurredAt);
        EndEnvelope(writer, envelope);
    }

    /// <summary>A goal's fields as both wires write them, from the opening brace to its priority.</summary>
    private static void WriteGoalFields(Utf8JsonWriter writer, ReadOnlySpan<byte> quotedId, GoalTemplate goal, MergedMap context)
    {
        writer.WriteStartObject();
        writer.WritePropertyName(GoalId);
        writer.WriteRawValue(quotedId, skipInputValidation: true);
        writer.WriteString(Instruction, goal.Instruction);
        writer.WritePropertyName(Context);
        context.Write(writer);
        writer.WriteNull(RequestId);
        writer.WriteString(PriorityName, Word(goal.Priority));
    }

    /// <summary>A task's fields as both wires write them, from the opening brace to its priority (its map is named <paramref name="mapName"/>).</summary>
    private static void WriteTaskFields(Utf8JsonWriter writer, ReadOnlySpan<byte> quotedId, TaskTemplate task, JsonEncodedText mapName, MergedMap map)
    {
        writer.WriteStartObject();
        writer.WritePropertyName(TaskId);
        writer.WriteRawValue(quotedId, skipInputValidation: true);
        writer.WriteNull(ParentTaskId);
        writer.WriteString(WorkerType, task.WorkerType);
        writer.WritePropertyName(mapName);
        map.Write(writer);
        writer.WriteString(ModelTierName, Word(task.ModelTier));
        writer.WriteString(PriorityName, Word(task.Priority));
    }

    /// <summary>A task's <c>request_id</c> and <c>metadata</c>, and its closing brace.</summary>
    private static void WriteTaskEnd(Utf8JsonWriter writer, string scheduledBy, ReadOnlySpan<byte> quotedSlot)
    {
        writer.WriteNull(RequestId);
        writer.WritePropertyName(Metadata);
        writer.WriteStartObject();
        writer.WriteString(ScheduledBy, scheduledBy);
        writer.WritePropertyName(ScheduledFor);
        writer.WriteRawValue(quotedSlot, skipInputValidation: true);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void StartEnvelope(Utf8JsonWriter writer, in EnvelopeFields envelope, JsonEncodedText payloadType)
    {
        writer.WriteStartObject();
        writer.WritePropertyName(MessageId);
        writer.WriteRawValue(envelope.QuotedMessageId, skipInputValidation: true);
        writer.WriteString(PayloadType, payloadType);
        writer.WritePropertyName(Payload);
    }

    private static void EndEnvelope(Utf8JsonWriter writer, in EnvelopeFields envelope)
    {
        writer.WriteString(Origin, envelope.Origin);
        writer.WriteNull(CorrelationId);
        writer.WriteNull(CausationId);
        writer.WritePropertyName(OccurredAt);
        writer.WriteRawValue(envelope.QuotedOccurredAt, skipInputValidation: true);
        writer.WritePropertyName(RecordedAt);
        writer.WriteRawValue(envelope.QuotedRecordedAt, skipInputValidation: true);
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

/// <summary>The envelope's own fields of one message, its ids and times quoted as they are written.</summary>
/// <param name="QuotedMessageId"><c>message_id</c> (<see cref="LoomWire.NewQuotedMessageId"/>).</param>
/// <param name="Origin"><c>origin</c>, encoded.</param>
/// <param name="QuotedOccurredAt"><c>occurred_at</c>: the slot, which is also the task's <c>scheduled_for</c>.</param>
/// <param name="QuotedRecordedAt"><c>recorded_at</c>: when the message was made.</param>
internal readonly ref struct EnvelopeFields(
    ReadOnlySpan<byte> QuotedMessageId, JsonEncodedText Origin, ReadOnlySpan<byte> QuotedOccurredAt, ReadOnlySpan<byte> QuotedRecordedAt)
{
    public ReadOnlySpan<byte> QuotedMessageId { get; } = QuotedMessageId;

    public JsonEncodedText Origin { get; } = Origin;

    public ReadOnlySpan<byte> QuotedOccurredAt { get; } = QuotedOccurredAt;

    public ReadOnlySpan<byte> QuotedRecordedAt { get; } = QuotedRecordedAt;
}

/// <summary>
/// What every message of one schedule has in common, as the bytes the serializer would write: constant pieces (field
/// names, the config's words, the envelope's frame) with holes between them for what each message has of its own
/// (its ids, the merged map, the slot and the time it was made), and the config's map with each value encoded
/// (<see cref="EncodedMap"/>). A body is the pieces with the holes filled.
/// </summary>
internal sealed class WireFrame
{
    private readonly byte[][] _pieces; // _pieces[i] goes before _holes[i]; the last piece ends the body
    private readonly Hole[] _holes;

    private WireFrame(EncodedMap map, Pieces pieces)
    {
        Map = map;
        (_pieces, _holes) = pieces.Finish();
    }

    private enum Hole : byte
    {
        Id,
        MessageId,
        Map,
        Created,
        Slot,
    }

    /// <summary>The config's map (<c>payload</c> of a task, <c>context</c> of a goal), encoded.</summary>
    public EncodedMap Map { get; }

    /// <summary>Whether the body has a <c>message_id</c> (a heddle envelope).</summary>
    public bool HasMessageId => _holes.Contains(Hole.MessageId);

    /// <summary>The frame of a schedule's messages on the config's wire.</summary>
    public static WireFrame Of(ScheduleDefinition schedule, WireFormat wire, string origin)
    {
        if (schedule.Template is GoalTemplate goal)
        {
            return wire == WireFormat.Envelope ? EnvelopedGoal(goal, origin) : Goal(goal);
        }
        var task = (TaskTemplate)schedule.Template;
        return wire == WireFormat.Envelope ? EnvelopedTask(task, schedule.ScheduledBy, origin) : Task(task, schedule.ScheduledBy);
    }

    /// <summary>The frame of an <c>OrchestratorGoal</c>.</summary>
    public static WireFrame Goal(GoalTemplate goal) => new(EncodedMap.Of(goal.Context), new Pieces()
        .Ascii("""{"goal_id":""").Then(Hole.Id)
        .Ascii(""","instruction":""").Text(goal.Instruction).Ascii(""","context":""").Then(Hole.Map)
        .Ascii(""","request_id":null,"priority":""").Text(WireNames.Of(goal.Priority)).Ascii(""","created_at":""").Then(Hole.Created)
        .Ascii("}"));

    /// <summary>The frame of a <c>TaskMessage</c> of schedule <paramref name="scheduledBy"/>.</summary>
    public static WireFrame Task(TaskTemplate task, string scheduledBy) => new(EncodedMap.Of(task.Payload), new Pieces()
        .Ascii("""{"task_id":""").Then(Hole.Id)
        .Ascii(""","parent_task_id":null,"worker_type":""").Text(task.WorkerType).Ascii(""","payload":""").Then(Hole.Map)
        .Ascii(""","model_tier":""").Text(WireNames.Of(task.ModelTier))
        .Ascii(""","priority":""").Text(WireNames.Of(task.Priority)).Ascii(""","created_at":""").Then(Hole.Created)
        .Ascii(""","request_id":null,"metadata":{"scheduled_by":""").Text(scheduledBy).Ascii(""","scheduled_for":""").Then(Hole.Slot)
        .Ascii("}}"));

    /// <summary>The frame of an <c>OrchestratorGoal</c> in heddle's envelope.</summary>
    public static WireFrame EnvelopedGoal(GoalTemplate goal, string origin) => new(EncodedMap.Of(goal.Context), new Pieces()
        .Ascii("""{"message_id":""").Then(Hole.MessageId)
        .Ascii(""","payload_type":""").Text(LoomWire.GoalPayloadType).Ascii(""","payload":{"goal_id":""").Then(Hole.Id)
        .Ascii(""","instruction":""").Text(goal.Instruction).Ascii(""","context":""").Then(Hole.Map)
        .Ascii(""","request_id":null,"priority":""").Text(WireNames.Of(goal.Priority)).Ascii("}")
        .EnvelopeEnd(origin));

    /// <summary>The frame of a <c>TaskMessage</c> of schedule <paramref name="scheduledBy"/> in heddle's envelope.</summary>
    public static WireFrame EnvelopedTask(TaskTemplate task, string scheduledBy, string origin) => new(EncodedMap.Of(task.Payload), new Pieces()
        .Ascii("""{"message_id":""").Then(Hole.MessageId)
        .Ascii(""","payload_type":""").Text(LoomWire.TaskPayloadType).Ascii(""","payload":{"task_id":""").Then(Hole.Id)
        .Ascii(""","parent_task_id":null,"worker_type":""").Text(task.WorkerType).Ascii(""","input":""").Then(Hole.Map)
        .Ascii(""","model_tier":""").Text(WireNames.Of(task.ModelTier)).Ascii(""","priority":""").Text(WireNames.Of(task.Priority))
        .Ascii(""","request_id":null,"metadata":{"scheduled_by":""").Text(scheduledBy).Ascii(""","scheduled_for":""").Then(Hole.Slot)
        .Ascii("}}")
        .EnvelopeEnd(origin));

    /// <summary>Writes one message's body into <paramref name="output"/>.</summary>
    /// <param name="output">Where it goes.</param>
    /// <param name="writer">A writer for the merged map; it is reset onto <paramref name="output"/>.</param>
    /// <param name="quotedId">The body's id, quoted (<see cref="LoomWire.NewQuotedId"/>).</param>
    /// <param name="overlay">The expansion map merged over the config's, or null.</param>
    /// <param name="quotedCreatedAt">When the message was made, quoted (<see cref="LoomWire.QuotedTime"/>).</param>
    /// <param name="quotedSlot">The slot, quoted.</param>
    /// <param name="quotedMessageId">The envelope's <c>message_id</c>, quoted; empty on the bare wire.</param>
    /// <exception cref="UnserializableValueException">A value of the expansion map has no JSON form.</exception>
    public void Write(
        BodyArena output, Utf8JsonWriter writer, ReadOnlySpan<byte> quotedId, IEnumerable<KeyValuePair<string, object?>>? overlay,
        ReadOnlySpan<byte> quotedCreatedAt, ReadOnlySpan<byte> quotedSlot, ReadOnlySpan<byte> quotedMessageId = default)
    {
        for (int i = 0; i < _holes.Length; i++)
        {
            output.Append(_pieces[i]);
            switch (_holes[i])
            {
                case Hole.Id:
                    output.Append(quotedId);
                    break;
                case Hole.MessageId:
                    output.Append(quotedMessageId);
                    break;
                case Hole.Created:
                    output.Append(quotedCreatedAt);
                    break;
                case Hole.Slot:
                    output.Append(quotedSlot);
                    break;
                default:
                    if (!MergedMap.TryWriteDirect(output, Map, overlay))
                    {
                        writer.Reset(output);
                        MergedMap.Write(writer, Map, overlay);
                        writer.Flush();
                    }
                    break;
            }
        }
        output.Append(_pieces[^1]);
    }

    /// <summary>The pieces of a frame, spelled in order: ASCII as it is, text encoded (escaped) as the serializer does.</summary>
    private sealed class Pieces
    {
        private readonly List<byte[]> _pieces = [];
        private readonly List<Hole> _holes = [];
        private readonly List<byte> _current = [];

        public Pieces Ascii(string ascii)
        {
            _current.AddRange(Encoding.ASCII.GetBytes(ascii));
            return this;
        }

        public Pieces Text(string value)
        {
            _current.Add((byte)'"');
            _current.AddRange(JsonEncodedText.Encode(value).EncodedUtf8Bytes);
            _current.Add((byte)'"');
            return this;
        }

        public Pieces Then(Hole hole)
        {
            _pieces.Add([.. _current]);
            _current.Clear();
            _holes.Add(hole);
            return this;
        }

        // After the body: the envelope's origin, its two empty ids, the slot and the time the message was made.
        public Pieces EnvelopeEnd(string origin) =>
            Ascii(""","origin":""").Text(origin).Ascii(""","correlation_id":null,"causation_id":null,"occurred_at":""").Then(Hole.Slot)
                .Ascii(""","recorded_at":""").Then(Hole.Created)
                .Ascii("}");

        public (byte[][] Pieces, Hole[] Holes) Finish() => ([.. _pieces, [.. _current]], [.. _holes]);
    }
}
