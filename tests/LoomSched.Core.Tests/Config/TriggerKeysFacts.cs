using System.Globalization;
using LoomSched.Config;
using LoomSched.Triggers;

namespace LoomSched.Core.Tests.Config;

/// <summary>The keys that say whether and when a schedule fires: at, start_at, end_at, enabled, jitter_seconds.</summary>
public sealed class TriggerKeysFacts
{
    private static ConfigLoadResult Load(string keys, string zone = "") => ConfigLoader.LoadText(
        $"name: sched\nschedules:\n  - name: a\n{zone}{keys}    task: {{worker_type: w}}\n", "t.yaml");

    private static ScheduleDefinition Loaded(string keys, string zone = "")
    {
        var result = Load(keys, zone);
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return Assert.Single(result.Config!.Schedules);
    }

    private static DateTimeOffset Instant(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("2027-03-01T09:00:00Z", "", "2027-03-01T09:00:00Z")]
    [InlineData("2027-03-01T09:00:00.25z", "", "2027-03-01T09:00:00.25Z")]
    [InlineData("2027-03-01T09:00:00.123456789Z", "", "2027-03-01T09:00:00.1234567Z")] // to the 100 ns a time holds
    [InlineData("2027-03-01T09:00:00,5+01:00", "", "2027-03-01T08:00:00.5Z")] // ISO 8601's comma, as date -Ins writes it
    [InlineData("2027-03-01T09:00:00+01:00", "", "2027-03-01T08:00:00Z")]
    [InlineData("2027-03-01T09:00:00-05:30", "    time_zone: Europe/Berlin\n", "2027-03-01T14:30:00Z")] // an offset wins over the zone
    [InlineData("2027-03-01T09:00", "", "2027-03-01T09:00:00Z")] // local, in UTC by default
    [InlineData("2027-03-01 09:00:00", "", "2027-03-01T09:00:00Z")] // YAML's space for the T
    [InlineData("2027-03-01T09:00", "    time_zone: Europe/Berlin\n", "2027-03-01T08:00:00Z")]
    [InlineData("2027-07-01T09:00", "    time_zone: Europe/Berlin\n", "2027-07-01T07:00:00Z")] // summer time
    [InlineData("2027-10-31T02:30", "    time_zone: Europe/Berlin\n", "2027-10-31T00:30:00Z")] // a repeated hour: the first
    [InlineData("2027-03-01", "    time_zone: Asia/Kolkata\n", "2027-02-28T18:30:00Z")] // a date: its midnight
    [InlineData("\"2027-03-01T09:00:00Z\"", "", "2027-03-01T09:00:00Z")]
    public void An_at_fires_once_at_the_instant_it_names(string at, string zone, string expected)
    {
        var schedule = Loaded($"    at: {at}\n", zone);

        Assert.Equal(Instant(expected), schedule.At);
        var trigger = Assert.IsType<OneShotTrigger>(schedule.Trigger);
        Assert.Equal(Instant(expected), trigger.At);
        Assert.Null(schedule.Cron);
        Assert.Null(schedule.Interval);
    }

    [Fact]
    public void A_top_level_time_zone_reads_a_local_at_when_the_entry_has_none()
    {
        var result = ConfigLoader.LoadText(
            "name: sched\ntime_zone: America/New_York\nschedules:\n  - name: a\n    at: 2027-01-15T09:00\n    task: {worker_type: w}\n", "t.yaml");
        Assert.Equal(Instant("2027-01-15T14:00:00Z"), Assert.Single(result.Config!.Schedules).At);
    }

    [Fact]
    public void Enabled_false_loads_never_fires_and_says_so_in_a_note_at_the_key()
    {
        var result = Load("    cron: \"0 * * * *\"\n    enabled: false\n");

        Assert.True(result.Success);
        Assert.False(Assert.Single(result.Config!.Schedules).Enabled);
        var note = Assert.Single(result.Notes);
        Assert.Equal((5, 5), (note.Location.Line, note.Location.Column));
        Assert.Equal("schedules[0].enabled", note.Path);
        Assert.Contains("Loom ignores this key and fires the schedule", note.Message, StringComparison.Ordinal);
        Assert.False(result.Strict().Success);
    }

    [Theory]
    [InlineData("true")]
    [InlineData("yes")]
    public void Enabled_true_is_the_default_and_needs_no_note(string value)
    {
        var result = Load($"    cron: \"0 * * * *\"\n    enabled: {value}\n");

        Assert.True(Assert.Single(result.Config!.Schedules).Enabled);
        Assert.Empty(result.Notes);
        Assert.True(Loaded("    cron: \"0 * * * *\"\n").Enabled);
    }

    [Theory]
    [InlineData("    start_at: 2027-03-01T09:00:00Z\n", "2027-03-01T09:00:00Z", null)]
    [InlineData("    end_at: 2999-03-01T09:00:00Z\n", null, "2999-03-01T09:00:00Z")]
    [InlineData("    start_at: 2027-03-01\n    end_at: 2999-04-01\n", "2027-03-01T00:00:00Z", "2999-04-01T00:00:00Z")]
    [InlineData("    start_at: 2027-03-01T09:00:00Z\n    end_at: 2027-03-01T09:00:01Z\n", "2027-03-01T09:00:00Z", "2027-03-01T09:00:01Z")]
    public void Start_at_and_end_at_bound_the_schedule_in_a_window(string keys, string? start, string? end)
    {
        var schedule = Loaded($"    interval_seconds: 60\n{keys}");

        Assert.Equal(start is null ? null : Instant(start), schedule.StartAt);
        Assert.Equal(end is null ? null : Instant(end), schedule.EndAt);
        var window = Assert.IsType<WindowedTrigger>(schedule.Trigger);
        Assert.IsType<IntervalTrigger>(window.Inner);
        Assert.Equal(schedule.StartAt, window.Start);
        Assert.Equal(schedule.EndAt, window.End);
    }

    [Fact]
    public void A_window_that_has_ended_loads_with_a_note_that_it_never_fires()
    {
        var result = Load("    cron: \"0 * * * *\"\n    end_at: 2001-01-01T00:00:00Z\n");

        Assert.True(result.Success);
        var note = Assert.Single(result.Notes);
        Assert.Equal((5, 13), (note.Location.Line, note.Location.Column));
        Assert.Equal("schedules[0].end_at", note.Path);
        Assert.Equal("end_at (2001-01-01T00:00:00Z) has passed: the schedule loads but never fires; remove it, or move end_at", note.Message);
    }

    [Theory]
    [InlineData("0 0 1 1 *", "2030-01-02T00:00:00Z", "2030-12-31T00:00:00Z", "2031-01-01T00:00:00Z")]
    [InlineData("30 9 * * 1-5", "2030-01-05T00:00:00Z", "2030-01-07T00:00:00Z", "2030-01-07T09:30:00Z")]
    [InlineData("0 12 * * *", "2030-01-01T12:00:01Z", "2030-01-02T12:00:00Z", "2030-01-02T12:00:00Z")]
    public void A_cron_with_no_slot_inside_its_window_loads_with_a_note_that_it_never_fires(string cron, string start, string end, string first)
    {
        var result = Load($"    cron: \"{cron}\"\n    start_at: {start}\n    end_at: {end}\n");

        Assert.True(result.Success);
        var note = Assert.Single(result.Notes);
        Assert.Equal("schedules[0].end_at", note.Path);
        Assert.Equal($"no slot of \"{cron}\" falls between start_at and end_at (the first after start_at is {first}): the schedule loads but never fires", note.Message);
    }

    [Theory]
    [InlineData("0 12 * * *", "2030-01-01T12:00:00Z", "2030-01-01T12:00:01Z")]
    [InlineData("0 0 1 1 *", "2030-01-01T00:00:00Z", "2030-01-01T00:00:01Z")]
    public void A_cron_with_a_slot_inside_its_window_loads_without_a_note(string cron, string start, string end)
    {
        var result = Load($"    cron: \"{cron}\"\n    start_at: {start}\n    end_at: {end}\n");

        Assert.True(result.Success);
        Assert.Empty(result.Notes);
    }

    [Theory]
    [InlineData("0", null)]
    [InlineData("0.0", null)]
    [InlineData("30", 30.0)]
    [InlineData("0.5", 0.5)]
    [InlineData("86400", 86_400.0)]
    public void Jitter_seconds_gives_each_slot_a_delay_below_it(string value, double? max)
    {
        var schedule = Loaded($"    cron: \"0 * * * *\"\n    jitter_seconds: {value}\n");

        Assert.Equal(max is { } m ? TimeSpan.FromSeconds(m) : null, schedule.Jitter?.Max);
    }

    [Fact]
    public void Jitter_is_seeded_by_the_scheduler_and_the_schedule_so_every_replica_agrees()
    {
        var schedule = Loaded("    cron: \"0 * * * *\"\n    jitter_seconds: 300\n");
        var slot = Instant("2027-03-01T09:00:00Z");

        Assert.Equal(new SlotJitter("sched", "a", TimeSpan.FromSeconds(300)).DelayOf(slot), schedule.Jitter!.DelayOf(slot));
        Assert.Equal(slot + schedule.Jitter.DelayOf(slot), schedule.FireTimeOf(slot));
    }

    [Fact]
    public void Without_jitter_a_slot_fires_at_the_slot()
    {
        var slot = Instant("2027-03-01T09:00:00Z");
        Assert.Equal(slot, Loaded("    cron: \"0 * * * *\"\n").FireTimeOf(slot));
    }

    [Fact]
    public void A_schedule_with_neither_cron_interval_nor_at_names_all_three()
    {
        var error = Assert.Single(Load("").Errors);
        Assert.Equal("a schedule needs cron (such as \"0 * * * *\"), interval_seconds (such as 300) or at (such as 2027-03-01T09:00:00Z); none is given", error.Message);
    }
}
