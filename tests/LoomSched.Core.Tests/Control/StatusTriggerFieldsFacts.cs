using System.Text.Json;
using LoomSched.Config;
using LoomSched.Control;
using LoomSched.Dispatch;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Control;

/// <summary>What <c>status</c> says of enabled, at, a window and jitter_seconds.</summary>
public sealed class StatusTriggerFieldsFacts
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2027-03-01T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static Dictionary<string, JsonElement> Status(string entries)
    {
        var result = ConfigLoader.LoadText($"name: sched\nschedules:\n{entries}", "t.yaml");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        var clock = new FakeTimeProvider(T0);
        var engine = new SchedulerEngine(result.Config!, new RecordingPort(clock), clock, new EngineOptions());
        var reply = JsonDocument.Parse(new ControlHandler(engine, () => throw new InvalidOperationException(), "test").Status()).RootElement;
        return reply.GetProperty("schedules").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
    }

    private static string Entry(string name, string keys) => $"  - name: {name}\n{keys}    task: {{worker_type: w}}\n";

    [Fact]
    public void A_disabled_schedule_shows_enabled_false_and_no_next_fire()
    {
        var s = Status(Entry("dormant", "    cron: \"0 * * * *\"\n    enabled: false\n"))["dormant"];

        Assert.False(s.GetProperty("enabled").GetBoolean());
        Assert.False(s.GetProperty("done").GetBoolean());
        Assert.Equal(JsonValueKind.Null, s.GetProperty("next_fire").ValueKind);
    }

    [Theory]
    [InlineData("    at: 2027-03-01T08:00:00Z\n", true, null)]
    [InlineData("    at: 2027-03-01T10:00:00Z\n", false, "2027-03-01T10:00:00Z")]
    [InlineData("    cron: \"0 * * * *\"\n    end_at: 2027-03-01T09:00:00Z\n", true, null)]
    [InlineData("    cron: \"0 * * * *\"\n    start_at: 2027-03-02T00:00:00Z\n", false, "2027-03-02T00:00:00Z")]
    public void A_schedule_with_no_slot_left_shows_done(string keys, bool done, string? next)
    {
        var s = Status(Entry("a", keys))["a"];

        Assert.True(s.GetProperty("enabled").GetBoolean());
        Assert.Equal(done, s.GetProperty("done").GetBoolean());
        Assert.Equal(next, s.GetProperty("next_fire").GetString());
        Assert.Equal(next, s.GetProperty("next_slot").GetString());
    }

    [Fact]
    public void A_jittered_schedule_shows_its_next_slot_and_when_that_slot_fires()
    {
        var s = Status(Entry("spread", "    cron: \"0 * * * *\"\n    jitter_seconds: 300\n"))["spread"];

        var slot = T0.AddHours(1);
        var delay = new LoomSched.Triggers.SlotJitter("sched", "spread", TimeSpan.FromSeconds(300)).DelayOf(slot);
        Assert.Equal(LoomTime.Format(slot), s.GetProperty("next_slot").GetString());
        Assert.Equal(LoomTime.Format(slot + delay), s.GetProperty("next_fire").GetString());
    }
}
