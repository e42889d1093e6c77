using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Dispatch;

public partial class MessageBuilderFacts
{
    private static readonly DateTimeOffset Slot = DateTimeOffset.Parse("2026-11-27T03:00:00Z");
    private static readonly FakeTimeProvider Clock = new(DateTimeOffset.Parse("2026-11-27T03:00:00.0012345Z"));

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    private static partial Regex UuidV4();

    private static string BodyWithId(DispatchMessage message, string idField, out string id)
    {
        var json = Encoding.UTF8.GetString(message.Body.Span);
        id = JsonDocument.Parse(json).RootElement.GetProperty(idField).GetString()!;
        return json.Replace(id, "<uuid>", StringComparison.Ordinal);
    }

    // --- exact JSON ---

    [Fact]
    public void Goal_json_is_exactly_Loom_OrchestratorGoal()
    {
        var schedule = TestSchedules.Cron("hourly_summarize", "0 * * * *");
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(schedule, Slot, null, 0);

        var json = BodyWithId(message, "goal_id", out var id);
        Assert.Equal(
            """{"goal_id":"<uuid>","instruction":"Summarize","context":{"source":"incoming_docs"},"request_id":null,"priority":"normal","created_at":"2026-11-27T03:00:00.001234Z"}""",
            json);
        Assert.Matches(UuidV4(), id);
        Assert.Equal("loom.goals.incoming", message.Subject);
    }

    [Fact]
    public void Task_json_is_exactly_Loom_TaskMessage_with_metadata()
    {
        var schedule = TestSchedules.Interval("every_5m_healthcheck", 300);
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(schedule, Slot, null, 0);

        var json = BodyWithId(message, "task_id", out var id);
        Assert.Equal(
            """{"task_id":"<uuid>","parent_task_id":null,"worker_type":"worker","payload":{"check":"system_status"},"model_tier":"local","priority":"low","created_at":"2026-11-27T03:00:00.001234Z","request_id":null,"metadata":{"scheduled_by":"every_5m_healthcheck","scheduled_for":"2026-11-27T03:00:00Z"}}""",
            json);
        Assert.Matches(UuidV4(), id);
        Assert.Equal("loom.tasks.incoming", message.Subject);
    }

    [Fact]
    public void Json_parses_back_to_the_same_fields()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(
            schedule, Slot, [new("session", "s-1"), new("check", "override")], 3);

        var root = JsonNode.Parse(message.Body.Span)!.AsObject();
        Assert.Equal(["task_id", "parent_task_id", "worker_type", "payload", "model_tier", "priority", "created_at", "request_id", "metadata"],
            root.Select(p => p.Key));
        Assert.Equal("override", (string?)root["payload"]!["check"]);
        Assert.Equal("s-1", (string?)root["payload"]!["session"]);
        Assert.Equal("poll", (string?)root["metadata"]!["scheduled_by"]);
    }

    [Fact]
    public void Every_message_gets_a_new_id()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var builder = new MessageBuilder(TestSchedules.Config(schedule), Clock);
        var ids = Enumerable.Range(0, 100)
            .Select(i => JsonDocument.Parse(builder.Build(schedule, Slot, null, i).Body).RootElement.GetProperty("task_id").GetString())
            .ToHashSet();
        Assert.Equal(100, ids.Count);
    }

    // --- headers ---

    [Fact]
    public void Headers_name_the_schedule_slot_and_a_deduplication_id()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(schedule, Slot.AddTicks(5), null, 7);
        Assert.Equal("poll", message.ScheduleName);
        Assert.Equal("2026-11-27T03:00:00Z", message.ScheduledFor); // half a microsecond is below Loom's precision
        Assert.Equal("test_scheduler/poll/2026-11-27T03:00:00Z/7", message.MessageId);
    }

    [Fact]
    public void Subject_prefix_changes_the_subjects()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var config = new SchedulerConfig { Name = "s", SubjectPrefix = "heddle", Schedules = [schedule] };
        Assert.Equal("heddle.tasks.incoming", new MessageBuilder(config, Clock).Build(schedule, Slot, null, 0).Subject);
        Assert.Equal("heddle.scheduler.s", config.ControlSubject);
        Assert.Equal("heddle.control.reload", config.ReloadSubject);
    }

    // --- timestamps ---

    [Theory]
    [InlineData("2026-11-27T02:29:25.1234567Z", "2026-11-27T02:29:25.123456Z")]
    [InlineData("2026-11-27T02:29:25.0000010Z", "2026-11-27T02:29:25.000001Z")]
    [InlineData("2026-11-27T02:29:25.0000009Z", "2026-11-27T02:29:25Z")]
    [InlineData("2026-11-27T02:29:25Z", "2026-11-27T02:29:25Z")]
    [InlineData("2026-11-27T03:29:25.5+01:00", "2026-11-27T02:29:25.500000Z")]
    public void Timestamps_are_utc_with_six_fraction_digits_or_none(string instant, string expected)
    {
        Assert.Equal(expected, LoomTime.Format(DateTimeOffset.Parse(instant)));
    }

    // --- merging and values ---

    [Fact]
    public void Expansion_merges_shallowly_over_the_config_map_and_wins()
    {
        var payload = TestSchedules.Map(("a", 1L), ("nested", TestSchedules.Map(("x", 1L), ("y", 2L))), ("b", "keep"));
        var schedule = TestSchedules.Interval("poll", 30, payload: payload);
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(
            schedule, Slot, [new("nested", new Dictionary<string, object?> { ["x"] = 9L }), new("c", true), new("a", 2L)], 0);

        var body = JsonDocument.Parse(message.Body).RootElement.GetProperty("payload").GetRawText();
        Assert.Equal("""{"a":2,"nested":{"x":9},"b":"keep","c":true}""", body);
    }

    [Fact]
    public void Values_of_every_json_compatible_kind_are_written()
    {
        var schedule = TestSchedules.Interval("poll", 30, payload: FreeformMap.Empty);
        var overlay = new List<KeyValuePair<string, object?>>
        {
            new("null", null), new("int", 42), new("long", 1L << 40), new("whole", 2.0), new("pi", 3.25),
            new("dec", 1.5m), new("list", new object?[] { 1L, "two", null }), new("node", JsonNode.Parse("""{"k":[1]}""")),
            new("element", JsonDocument.Parse("[true]").RootElement), new("when", DateTimeOffset.Parse("2026-01-01T00:00:00Z")),
        };
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(schedule, Slot, overlay, 0);
        var body = JsonDocument.Parse(message.Body).RootElement.GetProperty("payload").GetRawText();
        Assert.Equal(
            """{"null":null,"int":42,"long":1099511627776,"whole":2.0,"pi":3.25,"dec":1.5,"list":[1,"two",null],"node":{"k":[1]},"element":[true],"when":"2026-01-01T00:00:00Z"}""",
            body);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Non_finite_numbers_are_refused(double value)
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var builder = new MessageBuilder(TestSchedules.Config(schedule), Clock);
        Assert.Throws<UnserializableValueException>(() => builder.Build(schedule, Slot, [new("x", value)], 0));
    }

    [Fact]
    public void Objects_without_a_json_form_are_refused_with_their_type()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var builder = new MessageBuilder(TestSchedules.Config(schedule), Clock);
        var ex = Assert.Throws<UnserializableValueException>(() => builder.Build(schedule, Slot, [new("x", new object())], 0));
        Assert.Contains("Object", ex.Message);
    }
}
