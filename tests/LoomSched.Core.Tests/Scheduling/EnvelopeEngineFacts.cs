using System.Text.Json;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using LoomSched.Scheduling;
using LoomSched.Tests.Shared;
using LoomSched.Tests.Support;

namespace LoomSched.Tests.Scheduling;

/// <summary>
/// <c>wire: envelope</c> through the timer loop: a plain fire (made ready before its slot), a triggered fire and a
/// fan-out all publish envelopes that heddle accepts, on the heddle subjects, with the headers unchanged.
/// </summary>
public sealed class EnvelopeEngineFacts() : EngineHarness(T0)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-27T02:59:30Z");

    private static ExpansionRegistry Sessions(int count) => new ExpansionRegistry().Add(
        "sessions", (_, _) => ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(
            Enumerable.Range(0, count).Select(i => (IEnumerable<KeyValuePair<string, object?>>)
                [new KeyValuePair<string, object?>("session", $"s{i}")])),
        "Tests.sessions");

    private static JsonElement Root(DispatchMessage message) => JsonDocument.Parse(message.Body).RootElement;

    [Fact]
    public async Task A_plain_fire_publishes_an_envelope_whose_times_are_its_slot()
    {
        StartWith(TestSchedules.Enveloped(TestSchedules.Interval("poll", 10), TestSchedules.Cron("hourly", "0 * * * *")),
            new EngineOptions { Registry = ExpansionRegistry.Empty });
        await AdvanceAsync(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Seen.Count == 4, "three interval fires and the hour");

        Assert.All(Port.Seen, s => Assert.Empty(HeddleConsumer.Problems(s.Message.Body)));
        var goal = Port.Of("hourly").Single();
        Assert.Equal("heddle.goals.incoming", goal.Subject);
        Assert.Equal("2026-11-27T03:00:00Z", Root(goal).GetProperty("occurred_at").GetString());
        Assert.Equal("2026-11-27T03:00:00Z", Root(goal).GetProperty("recorded_at").GetString());
        var task = Port.Of("poll")[0];
        Assert.Equal("heddle.tasks.incoming", task.Subject);
        Assert.Equal("test_scheduler/poll/2026-11-27T02:59:40Z/0", task.MessageId);
        Assert.Equal("2026-11-27T02:59:40Z", task.ScheduledFor);
        Assert.Equal("2026-11-27T02:59:40Z", Root(task).GetProperty("payload").GetProperty("metadata").GetProperty("scheduled_for").GetString());
    }

    [Fact]
    public async Task A_triggered_fire_publishes_an_envelope_heddle_accepts()
    {
        var engine = StartWith(TestSchedules.Enveloped(TestSchedules.Interval("poll", 10)), new EngineOptions { Registry = ExpansionRegistry.Empty });
        await AdvanceAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3));

        Assert.True(engine.Trigger("poll").Ok);
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the manual fire");

        var message = Port.Seen[0].Message;
        Assert.Empty(HeddleConsumer.Problems(message.Body));
        Assert.Equal("2026-11-27T02:59:33Z", Root(message).GetProperty("occurred_at").GetString());
    }

    [Fact]
    public async Task A_fan_out_publishes_one_envelope_per_map_with_the_map_in_its_input()
    {
        const int count = 3_000; // past the first chunk, so the helper builds some of them
        StartWith(TestSchedules.Enveloped(TestSchedules.Interval("per_session", 5, expandFrom: "sessions")),
            new EngineOptions { Registry = Sessions(count) });
        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => Port.Seen.Count == count, $"{count} messages");

        var messages = Port.Of("per_session");
        Assert.All(messages, m => Assert.Empty(HeddleConsumer.Problems(m.Body)));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"s{i}"),
            messages.Select(m => Root(m).GetProperty("payload").GetProperty("input").GetProperty("session").GetString()));
        Assert.Equal(count, messages.Select(m => Root(m).GetProperty("message_id").GetString()).Distinct().Count());
    }
}
