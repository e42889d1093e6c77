using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Tests.Shared;
using LoomSched.Triggers;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Dispatch;

/// <summary>
/// What <see cref="MessageBuilder"/> hands out, whichever way it writes a body (a plain fire's one message, a fan-out's
/// from its schedule's frame), is byte for byte what the source-generated <see cref="LoomJsonContext"/> writes for the
/// same values: on both wires, for goals and tasks, with every kind of expansion map. The ids in the reference are
/// those the builder drew; the times are the slot and the clock's.
/// </summary>
public sealed class BuiltMessageContractFacts
{
    private const string SchedulerName = "sched <ü>";
    private static readonly DateTimeOffset Slot = DateTimeOffset.Parse("2026-11-27T03:00:00Z");
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-27T03:00:00.0012345Z");
    private const string Word = "wörker <&> \"quoted\" \\ ☃";

    private static readonly OrderedDictionary<string, object?> ConfigMap = new()
    {
        ["check"] = "system_status",
        ["nested"] = new OrderedDictionary<string, object?> { ["list"] = new object?[] { 1L, "two", null, 2.0 }, ["ok"] = true },
        ["<html & 'key'>"] = "ünïcode",
        ["none"] = null,
    };

    public static TheoryData<WireFormat, string, string?, string> Cases()
    {
        var data = new TheoryData<WireFormat, string, string?, string>();
        foreach (var wire in Enum.GetValues<WireFormat>())
        {
            foreach (var kind in new[] { "goal", "task" })
            {
                foreach (var expandFrom in new[] { null, "range" })
                {
                    foreach (var map in Maps.Keys)
                    {
                        data.Add(wire, kind, expandFrom, map);
                    }
                }
            }
        }
        return data;
    }

    private static readonly Dictionary<string, KeyValuePair<string, object?>[]?> Maps = new()
    {
        ["no map"] = null,
        ["an empty map"] = [],
        ["plain values"] = [new("index", 7), new("check", "override"), new("big", long.MaxValue), new("flag", false), new("nothing", null)],
        ["values of every kind"] =
        [
            new("dec", 1.25m), new("whole", 2.0), new("node", JsonNode.Parse("""{"k":["é"]}""")), new("list", new object?[] { 1, "x" }),
            new("when", DateTimeOffset.Parse("2026-01-01T00:00:00.5Z")), new("+key", "<script>"), new("ключ", "значение"),
        ],
        ["a key twice"] = [new("index", 1), new("other", 0), new("index", 2)],
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_built_body_is_byte_for_byte_what_the_source_generated_context_writes(
        WireFormat wire, string kind, string? expandFrom, string map)
    {
        var schedule = Schedule(kind, expandFrom);
        var config = new SchedulerConfig { Name = SchedulerName, Wire = wire, Schedules = [schedule] };
        var fire = new MessageBuilder(config, new FakeTimeProvider(Now)).ForFire(schedule, Slot);
        var overlay = Maps[map];

        var message = fire.Build(overlay, 3);

        var body = Encoding.UTF8.GetString(message.Body.Span);
        Assert.Equal(Reference(wire, schedule, overlay, JsonNode.Parse(body)!), body);
        if (wire == WireFormat.Envelope)
        {
            Assert.Empty(HeddleConsumer.Problems(message.Body));
        }
    }

    private static ScheduleDefinition Schedule(string kind, string? expandFrom) => new()
    {
        Name = "twin#2",
        ScheduledBy = "twin",
        Interval = TimeSpan.FromSeconds(30),
        Trigger = new IntervalTrigger(TimeSpan.FromSeconds(30)),
        Template = kind == "goal"
            ? new GoalTemplate(Word, ConfigMap, Priority.Critical)
            : new TaskTemplate(Word, ConfigMap, ModelTier.Frontier, Priority.High),
        ExpandFrom = expandFrom,
        Fingerprint = "contract",
    };

    private static string Reference(
        WireFormat wire, ScheduleDefinition schedule, KeyValuePair<string, object?>[]? overlay, JsonNode built)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            var context = LoomJsonContext.Default;
            var payload = wire == WireFormat.Envelope ? built["payload"]! : built;
            var metadata = new TaskMetadata { ScheduledBy = schedule.ScheduledBy, ScheduledFor = LoomTime.Format(Slot) };
            switch (wire, schedule.Template)
            {
                case (WireFormat.Bare, GoalTemplate goal):
                    JsonSerializer.Serialize(writer, new OrchestratorGoal
                    {
                        GoalId = (string)payload["goal_id"]!,
                        Instruction = goal.Instruction,
                        Context = new MergedMap(goal.Context, overlay),
                        Priority = WireNames.Of(goal.Priority),
                        CreatedAt = LoomTime.Format(Now),
                    }, context.OrchestratorGoal);
                    break;
                case (WireFormat.Bare, TaskTemplate task):
                    JsonSerializer.Serialize(writer, new TaskMessage
                    {
                        TaskId = (string)payload["task_id"]!,
                        WorkerType = task.WorkerType,
                        Payload = new MergedMap(task.Payload, overlay),
                        ModelTier = WireNames.Of(task.ModelTier),
                        Priority = WireNames.Of(task.Priority),
                        CreatedAt = LoomTime.Format(Now),
                        Metadata = metadata,
                    }, context.TaskMessage);
                    break;
                case (WireFormat.Envelope, GoalTemplate goal):
                    JsonSerializer.Serialize(writer, new WireEnvelope<HeddleGoal>
                    {
                        MessageId = (string)built["message_id"]!,
                        PayloadType = "core.OrchestratorGoal",
                        Payload = new HeddleGoal
                        {
                            GoalId = (string)payload["goal_id"]!,
                            Instruction = goal.Instruction,
                            Context = new MergedMap(goal.Context, overlay),
                            Priority = WireNames.Of(goal.Priority),
                        },
                        Origin = "loomsched/" + SchedulerName,
                        OccurredAt = LoomTime.Format(Slot),
                        RecordedAt = LoomTime.Format(Now),
                    }, context.WireEnvelopeHeddleGoal);
                    break;
                case (WireFormat.Envelope, TaskTemplate task):
                    JsonSerializer.Serialize(writer, new WireEnvelope<HeddleTask>
                    {
                        MessageId = (string)built["message_id"]!,
                        PayloadType = "core.TaskMessage",
                        Payload = new HeddleTask
                        {
                            TaskId = (string)payload["task_id"]!,
                            WorkerType = task.WorkerType,
                            Input = new MergedMap(task.Payload, overlay),
                            ModelTier = WireNames.Of(task.ModelTier),
                            Priority = WireNames.Of(task.Priority),
                            Metadata = metadata,
                        },
                        Origin = "loomsched/" + SchedulerName,
                        OccurredAt = LoomTime.Format(Slot),
                        RecordedAt = LoomTime.Format(Now),
                    }, context.WireEnvelopeHeddleTask);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(wire));
            }
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
