using LoomSched.Config;
using LoomSched.Scheduling;

namespace LoomSched.Tests.Scheduling;

/// <summary>What <c>next</c> lists for at, start_at/end_at, enabled and jitter_seconds.</summary>
public class UpcomingTriggerKeysFacts
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2027-03-01T10:15:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static ScheduleDefinition Schedule(string keys)
    {
        var result = ConfigLoader.LoadText($"name: sched\nschedules:\n  - name: a\n{keys}    task: {{worker_type: w}}\n", "t.yaml");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return result.Config!.Schedules[0];
    }

    private static string[] Listed(string keys, int count = 3) =>
        [.. UpcomingSlots.Of(Schedule(keys), Now, count).Select(s => s.ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture))];

    [Theory]
    [InlineData("    at: 2027-03-01T12:00:00Z\n", new[] { "2027-03-01T12:00:00+00:00" })]
    [InlineData("    at: 2027-03-01T12:00\n    time_zone: Europe/Berlin\n", new[] { "2027-03-01T12:00:00+01:00" })]
    [InlineData("    at: 2027-03-01T10:00:00Z\n", new string[0])] // passed
    [InlineData("    interval_seconds: 60\n    enabled: false\n", new string[0])]
    [InlineData("    interval_seconds: 600\n    start_at: 2027-03-01T09:00:00Z\n", new[] { "2027-03-01T10:20:00+00:00", "2027-03-01T10:30:00+00:00", "2027-03-01T10:40:00+00:00" })]
    [InlineData("    interval_seconds: 600\n    start_at: 2027-03-02T00:00:00Z\n", new[] { "2027-03-02T00:00:00+00:00", "2027-03-02T00:10:00+00:00", "2027-03-02T00:20:00+00:00" })]
    [InlineData("    interval_seconds: 600\n    end_at: 2027-03-01T10:35:00Z\n", new[] { "2027-03-01T10:25:00+00:00" })]
    [InlineData("    cron: \"0 * * * *\"\n    start_at: 2027-03-01T12:30:00Z\n    end_at: 2027-03-01T15:00:00Z\n", new[] { "2027-03-01T13:00:00+00:00", "2027-03-01T14:00:00+00:00" })]
    public void Next_lists_only_the_slots_a_schedule_fires(string keys, string[] expected)
    {
        Assert.Equal(expected, Listed(keys));
    }

    [Fact]
    public void A_jittered_schedule_lists_its_slots_each_firing_after_its_own_delay()
    {
        var schedule = Schedule("    cron: \"0 * * * *\"\n    jitter_seconds: 300\n");
        var slots = UpcomingSlots.Of(schedule, Now, 3);

        Assert.Equal([Now.AddMinutes(45), Now.AddMinutes(105), Now.AddMinutes(165)], slots);
        Assert.All(slots, slot => Assert.InRange(schedule.FireTimeOf(slot) - slot, TimeSpan.Zero, TimeSpan.FromSeconds(300)));
        Assert.Equal(slots.Select(s => schedule.Jitter!.DelayOf(s)), slots.Select(s => schedule.FireTimeOf(s) - s));
    }
}
