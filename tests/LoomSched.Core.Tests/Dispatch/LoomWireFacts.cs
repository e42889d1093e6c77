using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Tests.Shared;

namespace LoomSched.Tests.Dispatch;

/// <summary>
/// The message writer (<see cref="BodyLayout"/>, written at once for a fire's one message by <see cref="DirectBody"/>, and
/// recorded in a schedule's <see cref="WireFrame"/> for a fan-out's) against the contract's reference, the source-generated <see cref="LoomJsonContext"/> serializing
/// the types of LoomMessages.cs: the same bytes, for every priority and model
/// tier, for words that must be escaped (quotes, HTML's characters, non-ASCII, control characters), for values of every
/// kind, with and without an expansion map, with whole and fractional times; on both wires (bare, and in heddle's
/// envelope, where every message written must also pass the heddle consumer's check).
/// </summary>
public sealed class LoomWireFacts
{
    private const string Id = "0ae5d221-78c0-463c-91fc-abdbea471340";
    private const string MessageId = "019af3c2-5e00-7abc-8def-0123456789ab";
    private const string Origin = "loomsched/sched";

    private static readonly string[] Words =
        ["worker", "", "wörker <&> 'single' \"double\" + `tick` \\ ☃ 😀", "line\nbreak\ttab\u0001", "日本語の説明"];

    private static readonly DateTimeOffset[] Times =
        [DateTimeOffset.Parse("2026-11-27T03:00:00Z"), DateTimeOffset.Parse("2026-11-27T03:00:00.0012345+05:30")];

    private static readonly OrderedDictionary<string, object?> Config = new()
    {
        ["check"] = "system_status",
        ["nested"] = new OrderedDictionary<string, object?> { ["list"] = new object?[] { 1L, "two", null, 2.0, 1.5 }, ["ok"] = true },
        ["<html & 'key'>"] = "ünïcode \"value\" <b>",
        ["none"] = null,
    };

    private static readonly KeyValuePair<string, object?>[] Overlay =
    [
        new("check", "override"), new("index", 7), new("dec", 1.25m), new("node", JsonNode.Parse("""{"k":["é"]}""")),
        new("when", DateTimeOffset.Parse("2026-01-01T00:00:00.5Z")), new("+key", "<script>"),
    ];

    public static TheoryData<string, Priority, ModelTier, bool, int> Tasks()
    {
        var data = new TheoryData<string, Priority, ModelTier, bool, int>();
        foreach (var word in Words)
        {
            foreach (var priority in Enum.GetValues<Priority>())
            {
                foreach (var tier in Enum.GetValues<ModelTier>())
                {
                    data.Add(word, priority, tier, word.Length % 2 == 0, (int)priority % Times.Length);
                }
            }
        }
        return data;
    }

    public static TheoryData<string, Priority, bool, int> Goals()
    {
        var data = new TheoryData<string, Priority, bool, int>();
        foreach (var word in Words)
        {
            foreach (var priority in Enum.GetValues<Priority>())
            {
                data.Add(word, priority, (int)priority % 2 == 0, word.Length % Times.Length);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Tasks))]
    public void A_task_is_written_byte_for_byte_as_the_source_generated_serializer_writes_it(
        string word, Priority priority, ModelTier tier, bool expanded, int time) =>
        AssertTaskWritten(WireFormat.Bare, word, priority, tier, expanded, time);

    [Theory]
    [MemberData(nameof(Goals))]
    public void A_goal_is_written_byte_for_byte_as_the_source_generated_serializer_writes_it(
        string word, Priority priority, bool expanded, int time) =>
        AssertGoalWritten(WireFormat.Bare, word, priority, expanded, time);

    // --- the envelope (wire: envelope) ---

    [Theory]
    [MemberData(nameof(Tasks))]
    public void An_enveloped_task_is_written_byte_for_byte_as_the_source_generated_serializer_writes_it(
        string word, Priority priority, ModelTier tier, bool expanded, int time) =>
        AssertTaskWritten(WireFormat.Envelope, word, priority, tier, expanded, time);

    [Theory]
    [MemberData(nameof(Goals))]
    public void An_enveloped_goal_is_written_byte_for_byte_as_the_source_generated_serializer_writes_it(
        string word, Priority priority, bool expanded, int time) =>
        AssertGoalWritten(WireFormat.Envelope, word, priority, expanded, time);

    [Theory]
    [MemberData(nameof(FanOutMaps))]
    public void An_enveloped_fan_out_map_is_written_byte_for_byte_as_the_serializer_writes_it(
        string what, KeyValuePair<string, object?>[] overlay, bool direct)
    {
        _ = (what, direct);
        var (task, created, slot) = FanOutTask();

        Assert.Equal(TaskReference(task, "fan", WireFormat.Envelope, new MergedMap(task.Payload, overlay), created, slot),
            Framed(task, "fan", WireFormat.Envelope, Values(WireFormat.Envelope, overlay, created, slot)));
    }

    [Fact]
    public void A_new_message_id_is_a_quoted_uuid_v7_of_the_time_it_is_made()
    {
        var at = DateTimeOffset.Parse("2026-11-27T03:00:00.123Z");
        var quoted = new byte[BodyValues.QuotedIdLength];
        BodyValues.NewQuotedMessageId(quoted, at);
        string text = Encoding.ASCII.GetString(quoted);

        Assert.Matches("^\"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\"$", text);
        Assert.Equal(at.ToUnixTimeMilliseconds().ToString("x12", System.Globalization.CultureInfo.InvariantCulture), text[1..9] + text[10..14]);
        BodyValues.NewQuotedMessageId(quoted, at);
        Assert.NotEqual(text, Encoding.ASCII.GetString(quoted));
    }

    // --- fan-out maps ---

    public static TheoryData<string, KeyValuePair<string, object?>[], bool> FanOutMaps()
    {
        var data = new TheoryData<string, KeyValuePair<string, object?>[], bool>
        {
            { "an index", [new("index", 7)], true },
            { "no pairs", [], true },
            {
                "numbers, booleans, null, text, and keys the config has",
                [
                    new("check", "override"), new("min", int.MinValue), new("big", long.MaxValue), new("neg", -1L),
                    new("flag", true), new("off", false), new("none", "now text"), new("nothing", null),
                ],
                true
            },
            { "keys that must be escaped", [new("<html & 'key'>", 1), new("ключ", "v"), new("a\"b", 2)], true },
            { "a key twice (its first place, its last value)", [new("index", 1), new("other", 0), new("index", 2)], false },
            { "text that must be escaped", [new("t", "ünïcode")], false },
            { "a number of another kind", [new("d", 1.5), new("m", 2.5m), new("s", (short)3)], false },
            { "more pairs than written directly", [.. Enumerable.Range(0, 17).Select(k => new KeyValuePair<string, object?>($"k{k}", k))], false },
        };
        // Every ASCII character inside text, sixteen to a map: those the serializer escapes send the map to the writer.
        for (int from = 0; from < 128; from += 16)
        {
            var pairs = Enumerable.Range(from, 16).Select(c => new KeyValuePair<string, object?>($"c{c}", $"a{(char)c}b")).ToArray();
            bool plain = pairs.All(p => ((string)p.Value!).All(ch => ch >= 0x20 && ch < 0x7F && !"\"\\<>&'+`".Contains(ch)));
            data.Add($"characters {from}-{from + 15}", pairs, plain);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(FanOutMaps))]
    public void A_fan_out_map_is_written_byte_for_byte_as_the_serializer_writes_it_with_or_without_the_JSON_writer(
        string what, KeyValuePair<string, object?>[] overlay, bool direct)
    {
        var (task, created, slot) = FanOutTask();

        Assert.Equal(TaskReference(task, "fan", WireFormat.Bare, new MergedMap(task.Payload, overlay), created, slot),
            Framed(task, "fan", WireFormat.Bare, Values(WireFormat.Bare, overlay, created, slot)));
        Assert.True(
            MergedMap.TryWriteDirect(new BodyArena(), EncodedMap.Of(Config), overlay) == direct,
            $"{what}: expected to be written {(direct ? "directly" : "by the JSON writer")}");
    }

    [Fact]
    public void A_new_id_is_a_quoted_random_uuid_v4()
    {
        var quoted = new byte[BodyValues.QuotedIdLength];
        BodyValues.NewQuotedId(quoted);
        string text = Encoding.ASCII.GetString(quoted);

        Assert.Matches("^\"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\"$", text);
        BodyValues.NewQuotedId(quoted);
        Assert.NotEqual(text, Encoding.ASCII.GetString(quoted));
    }

    private static MergedMap Payload(IReadOnlyDictionary<string, object?> config, bool expanded) =>
        new(config, expanded ? Overlay : null);

    private static byte[] QuotedId() => Encoding.ASCII.GetBytes($"\"{Id}\"");

    private static byte[] QuotedMessageId() => Encoding.ASCII.GetBytes($"\"{MessageId}\"");

    private static byte[] Quoted(DateTimeOffset instant)
    {
        var into = new byte[LoomTime.MaxLength + 2];
        return into[..BodyValues.QuotedTime(instant, into)];
    }

    /// <summary>A task on <paramref name="wire"/>: the reference, then each writer, must give the same bytes.</summary>
    private static void AssertTaskWritten(WireFormat wire, string word, Priority priority, ModelTier tier, bool expanded, int time)
    {
        var task = new TaskTemplate(word, Config, tier, priority);
        var (created, slot) = (Times[time], Times[^(time + 1)]);
        string name = "sched_" + word;
        AssertWrittenAs(TaskReference(task, name, wire, Payload(task.Payload, expanded), created, slot),
            task, name, wire, Values(wire, expanded ? Overlay : null, created, slot));
    }

    /// <summary>A goal on <paramref name="wire"/>: the reference, then each writer, must give the same bytes.</summary>
    private static void AssertGoalWritten(WireFormat wire, string word, Priority priority, bool expanded, int time)
    {
        var goal = new GoalTemplate(word, Config, priority);
        // A bare goal has no slot in its body: the envelope's occurred_at shows it.
        var (created, slot) = wire == WireFormat.Bare ? (Times[time], Times[time]) : (Times[time], Times[^(time + 1)]);
        AssertWrittenAs(GoalReference(goal, wire, Payload(goal.Context, expanded), created, slot),
            goal, "sched", wire, Values(wire, expanded ? Overlay : null, created, slot));
    }

    private static void AssertWrittenAs(string reference, MessageTemplate template, string scheduledBy, WireFormat wire, BodyValues values)
    {
        Assert.Equal(reference, Direct(template, scheduledBy, wire, values));
        string framed = Framed(template, scheduledBy, wire, values);
        Assert.Equal(reference, framed);
        if (wire == WireFormat.Envelope)
        {
            Assert.Empty(HeddleConsumer.Problems(Encoding.UTF8.GetBytes(framed)));
        }
    }

    /// <summary>The source-generated serializer's task: the contract's reference bytes.</summary>
    private static string TaskReference(TaskTemplate task, string scheduledBy, WireFormat wire, MergedMap payload, DateTimeOffset created, DateTimeOffset slot)
    {
        var metadata = new TaskMetadata { ScheduledBy = scheduledBy, ScheduledFor = LoomTime.Format(slot) };
        return wire == WireFormat.Bare
            ? Serialize(w => JsonSerializer.Serialize(w, new TaskMessage
            {
                TaskId = Id,
                WorkerType = task.WorkerType,
                Payload = payload,
                ModelTier = WireNames.Of(task.ModelTier),
                Priority = WireNames.Of(task.Priority),
                CreatedAt = LoomTime.Format(created),
                Metadata = metadata,
            }, LoomJsonContext.Default.TaskMessage))
            : Serialize(w => JsonSerializer.Serialize(w, Envelope("core.TaskMessage", new HeddleTask
            {
                TaskId = Id,
                WorkerType = task.WorkerType,
                Input = payload,
                ModelTier = WireNames.Of(task.ModelTier),
                Priority = WireNames.Of(task.Priority),
                Metadata = metadata,
            }, created, slot), LoomJsonContext.Default.WireEnvelopeHeddleTask));
    }

    /// <summary>The source-generated serializer's goal: the contract's reference bytes.</summary>
    private static string GoalReference(GoalTemplate goal, WireFormat wire, MergedMap context, DateTimeOffset created, DateTimeOffset slot) =>
        wire == WireFormat.Bare
            ? Serialize(w => JsonSerializer.Serialize(w, new OrchestratorGoal
            {
                GoalId = Id,
                Instruction = goal.Instruction,
                Context = context,
                Priority = WireNames.Of(goal.Priority),
                CreatedAt = LoomTime.Format(created),
            }, LoomJsonContext.Default.OrchestratorGoal))
            : Serialize(w => JsonSerializer.Serialize(w, Envelope("core.OrchestratorGoal", new HeddleGoal
            {
                GoalId = Id,
                Instruction = goal.Instruction,
                Context = context,
                Priority = WireNames.Of(goal.Priority),
            }, created, slot), LoomJsonContext.Default.WireEnvelopeHeddleGoal));

    private static WireEnvelope<T> Envelope<T>(string payloadType, T payload, DateTimeOffset recorded, DateTimeOffset slot) => new()
    {
        MessageId = MessageId,
        PayloadType = payloadType,
        Payload = payload,
        Origin = Origin,
        OccurredAt = LoomTime.Format(slot),
        RecordedAt = LoomTime.Format(recorded),
    };

    private static (TaskTemplate Task, DateTimeOffset Created, DateTimeOffset Slot) FanOutTask() =>
        (new TaskTemplate("worker", Config, ModelTier.Standard, Priority.Normal), Times[1], Times[0]);

    private static BodyValues Values(WireFormat wire, KeyValuePair<string, object?>[]? overlay, DateTimeOffset created, DateTimeOffset slot) =>
        new(QuotedId(), wire == WireFormat.Envelope ? QuotedMessageId() : default, Quoted(created), Quoted(slot), overlay);

    private static string Direct(MessageTemplate template, string scheduledBy, WireFormat wire, BodyValues values)
    {
        var arena = new BodyArena();
        using var writer = new Utf8JsonWriter(arena);
        DirectBody.Write(arena, writer, template, scheduledBy, wire, Origin, values);
        return Encoding.UTF8.GetString(arena.Commit().Span);
    }

    private static string Framed(MessageTemplate template, string scheduledBy, WireFormat wire, BodyValues values)
    {
        var arena = new BodyArena();
        using var writer = new Utf8JsonWriter(arena);
        WireFrame.Of(template, scheduledBy, wire, Origin).Write(arena, writer, values);
        return Encoding.UTF8.GetString(arena.Commit().Span);
    }

    private static string Serialize(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
