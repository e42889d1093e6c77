using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoomSched.Dispatch;
using LoomSched.Tests.Shared;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Dispatch;

/// <summary>
/// <c>wire: envelope</c>: every message a heddle <c>WireEnvelope</c> around heddle's body, as the newest upstream
/// consumers accept it (<see cref="HeddleConsumer"/>), for a plain fire's one message and for a big fan-out's.
/// </summary>
public sealed partial class EnvelopeWireFacts
{
    private static readonly DateTimeOffset Slot = DateTimeOffset.Parse("2026-11-27T03:00:00Z");
    private static readonly FakeTimeProvider Clock = new(DateTimeOffset.Parse("2026-11-27T03:00:00.0012345Z"));

    [GeneratedRegex("\"(message_id|goal_id|task_id)\":\"[0-9a-f-]{36}\"")]
    private static partial Regex Ids();

    private static string WithoutIds(DispatchMessage message) =>
        Ids().Replace(Encoding.UTF8.GetString(message.Body.Span), m => $"\"{m.Groups[1].Value}\":\"<{m.Groups[1].Value}>\"");

    [Fact]
    public void An_enveloped_goal_is_exactly_heddles_wire_envelope_around_an_OrchestratorGoal_without_created_at()
    {
        var schedule = TestSchedules.Cron("hourly_summarize", "0 * * * *");
        var message = new MessageBuilder(TestSchedules.Enveloped(schedule), Clock).Build(schedule, Slot, null, 0);

        Assert.Equal(
            """{"message_id":"<message_id>","payload_type":"core.OrchestratorGoal","payload":{"goal_id":"<goal_id>","instruction":"Summarize","context":{"source":"incoming_docs"},"request_id":null,"priority":"normal"},"origin":"loomsched/test_scheduler","correlation_id":null,"causation_id":null,"occurred_at":"2026-11-27T03:00:00Z","recorded_at":"2026-11-27T03:00:00.001234Z"}""",
            WithoutIds(message));
        Assert.Equal("heddle.goals.incoming", message.Subject);
        Assert.Empty(HeddleConsumer.Problems(message.Body));
    }

    [Fact]
    public void An_enveloped_task_carries_the_configs_payload_as_input_and_keeps_its_metadata()
    {
        var schedule = TestSchedules.Interval("every_5m_healthcheck", 300);
        var message = new MessageBuilder(TestSchedules.Enveloped(schedule), Clock).Build(schedule, Slot, null, 0);

        Assert.Equal(
            """{"message_id":"<message_id>","payload_type":"core.TaskMessage","payload":{"task_id":"<task_id>","parent_task_id":null,"worker_type":"worker","input":{"check":"system_status"},"model_tier":"local","priority":"low","request_id":null,"metadata":{"scheduled_by":"every_5m_healthcheck","scheduled_for":"2026-11-27T03:00:00Z"}},"origin":"loomsched/test_scheduler","correlation_id":null,"causation_id":null,"occurred_at":"2026-11-27T03:00:00Z","recorded_at":"2026-11-27T03:00:00.001234Z"}""",
            WithoutIds(message));
        Assert.Equal("heddle.tasks.incoming", message.Subject);
        Assert.Equal("test_scheduler/every_5m_healthcheck/2026-11-27T03:00:00Z/0", message.MessageId);
        Assert.Empty(HeddleConsumer.Problems(message.Body));
    }

    [Fact]
    public void A_message_id_is_a_uuid_v7_of_the_time_the_message_was_made_and_never_repeats()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var builder = new MessageBuilder(TestSchedules.Enveloped(schedule), Clock);

        var ids = Enumerable.Range(0, 1_000)
            .Select(i => JsonDocument.Parse(builder.Build(schedule, Slot, null, i).Body).RootElement.GetProperty("message_id").GetString()!)
            .ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
        long millis = Clock.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.All(ids, id => Assert.Equal(millis, Convert.ToInt64(id[..8] + id[9..13], 16)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task Every_message_of_a_big_fan_out_is_an_envelope_heddle_accepts_with_its_own_map_and_ids(int helpers)
    {
        const int maps = (3 * FireBodyCollector.ChunkSize) + 5;
        var schedule = TestSchedules.Interval("poll", 30, expandFrom: "range");
        var fire = new MessageBuilder(TestSchedules.Enveloped(schedule), Clock).ForFire(schedule, Slot);
        using var collector = new FireBodyCollector(fire, helpers);
        for (int i = 0; i < maps; i++)
        {
            collector.Add([new("i", i), new("check", i % 2 == 0 ? "even" : "odd")]);
        }
        using var bodies = collector.Finish();
        await bodies.WhenAllBuiltAsync();

        Assert.Equal(maps, bodies.Count);
        var roots = bodies.Select(b => JsonDocument.Parse(b).RootElement).ToList();
        Assert.All(bodies, b => Assert.Empty(HeddleConsumer.Problems(b)));
        Assert.Equal(Enumerable.Range(0, maps), roots.Select(r => r.GetProperty("payload").GetProperty("input").GetProperty("i").GetInt32()));
        Assert.Equal(maps, roots.Select(r => r.GetProperty("message_id").GetString()).Distinct().Count());
        Assert.Equal(maps, roots.Select(r => r.GetProperty("payload").GetProperty("task_id").GetString()).Distinct().Count());
        Assert.All(roots, r => Assert.Equal("2026-11-27T03:00:00Z", r.GetProperty("occurred_at").GetString()));
    }
}
