using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests;

[CollectionDefinition("far-slots")]
public sealed class FarSlotCollection : ICollectionFixture<NatsFixture>;

/// <summary>
/// Daemons whose slots are months and years away stay up (the first round's crash: a timer's range), answer status
/// with the right next_fire, and `next` lists the same instants. Two minutes, beside the other collections.
/// </summary>
[Collection("far-slots")]
public sealed class FarSlotFacts(NatsFixture nats)
{
    private static readonly TimeSpan StayUp = TimeSpan.FromMinutes(2);

    private Task<JsonElement> RequestAsync(string subject, string body) => ControlRequest.SendAsync(nats.Client, subject, body);

    private static string NextFireOf(JsonElement status, string schedule) =>
        status.GetProperty("schedules").EnumerateArray().Single(s => s.GetProperty("name").GetString() == schedule)
            .GetProperty("next_fire").GetString()!;

    [Fact]
    public async Task Daemons_whose_slots_are_months_or_years_away_stay_up_for_minutes_and_say_when_they_fire()
    {
        string junePrefix = TempConfig.UniqueName("june"), leapPrefix = TempConfig.UniqueName("leap");
        var june = TempConfig.Write($$"""
            name: june_only
            subject_prefix: {{junePrefix}}
            schedules:
              - name: summer
                cron: "0 0 1 6 *"
                goal: {instruction: "summer report"}
            """);
        var leap = TempConfig.Write($$"""
            name: leap_day
            subject_prefix: {{leapPrefix}}
            schedules:
              - name: poll
                interval_seconds: 1
                task: {worker_type: poller}
              - name: leap
                cron: "0 0 29 2 *"
                goal: {instruction: "leap-day report"}
            """);
        await using var juneDaemon = Loomsched.Run(june, nats.Server.Url);
        await using var leapDaemon = Loomsched.Run(leap, nats.Server.Url);
        await juneDaemon.WaitForLogAsync("nats connected");
        await leapDaemon.WaitForLogAsync("nats connected");

        // The only frequent schedule paused: the loop's nearest slot is the leap day, years away.
        var pause = await RequestAsync($"{leapPrefix}.scheduler.leap_day", """{"action":"pause","schedule":"poll"}""");
        Assert.True(pause.GetProperty("ok").GetBoolean(), pause.GetRawText());

        var now = DateTimeOffset.UtcNow;
        var nextJune = new DateTimeOffset(now.Month < 6 ? now.Year : now.Year + 1, 6, 1, 0, 0, 0, TimeSpan.Zero);
        int leapYear = Enumerable.Range(now.Year, 8).First(y => DateTime.IsLeapYear(y) && new DateTimeOffset(y, 2, 29, 0, 0, 0, TimeSpan.Zero) > now);
        string june1 = $"{nextJune:yyyy-MM-dd}T00:00:00Z", feb29 = $"{leapYear}-02-29T00:00:00Z";

        var until = DateTime.UtcNow + StayUp;
        while (DateTime.UtcNow < until)
        {
            await Task.Delay(TimeSpan.FromSeconds(10));
            Assert.False(juneDaemon.HasExited, juneDaemon.Log);
            Assert.False(leapDaemon.HasExited, leapDaemon.Log);
            Assert.Equal(june1, NextFireOf(await RequestAsync($"{junePrefix}.scheduler.june_only", "{}"), "summer"));
            Assert.Equal(feb29, NextFireOf(await RequestAsync($"{leapPrefix}.scheduler.leap_day", "{}"), "leap"));
        }
        Assert.DoesNotContain(juneDaemon.Stderr, l => l.Contains(" error ", StringComparison.Ordinal) || l.Contains("fatal", StringComparison.Ordinal));
        Assert.DoesNotContain(leapDaemon.Stderr, l => l.Contains(" error ", StringComparison.Ordinal) || l.Contains("fatal", StringComparison.Ordinal));

        var (code, output, error) = await Loomsched.ExecAsync("next", june, "--count", "2");
        Assert.True(code == 0, error);
        Assert.Contains($"  {june1}", output);
        (code, output, error) = await Loomsched.ExecAsync("next", leap, "--schedule", "leap", "--count", "1");
        Assert.True(code == 0, error);
        Assert.EndsWith($"  {feb29}", output.TrimEnd());
    }
}
