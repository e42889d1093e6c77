using LoomSched.Triggers;

namespace LoomSched.Tests.Triggers;

public class CronTriggerFacts
{
    private static readonly DateTimeOffset Anchor = DateTimeOffset.Parse("2026-01-01T00:00:00Z");

    private static CronTrigger Parse(string cron, string zone = "UTC")
    {
        Assert.True(CronTrigger.TryParse(cron, TimeZoneInfo.FindSystemTimeZoneById(zone), out var trigger, out var error), error);
        return trigger;
    }

    private static IEnumerable<string> Slots(CronTrigger trigger, string fromUtc, int count)
    {
        DateTimeOffset? t = DateTimeOffset.Parse(fromUtc);
        for (int i = 0; i < count && t is not null; i++)
        {
            t = trigger.NextAfter(t.Value, Anchor);
            yield return t!.Value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ");
        }
    }

    // --- fields, seconds and macros ---

    [Theory]
    [InlineData("0 * * * *", "2026-03-01T10:15:00Z", "2026-03-01T11:00:00Z")]
    [InlineData("*/5 * * * *", "2026-03-01T10:15:00Z", "2026-03-01T10:20:00Z")]
    [InlineData("0 9 * * MON-FRI", "2026-03-06T10:00:00Z", "2026-03-09T09:00:00Z")]
    [InlineData("30 * * * * *", "2026-03-01T10:15:00Z", "2026-03-01T10:15:30Z")]
    [InlineData("*/10 * * * * *", "2026-03-01T10:15:05Z", "2026-03-01T10:15:10Z")]
    [InlineData("0 0 12 * * *", "2026-03-01T10:15:00Z", "2026-03-01T12:00:00Z")]
    [InlineData("@hourly", "2026-03-01T10:15:00Z", "2026-03-01T11:00:00Z")]
    [InlineData("@daily", "2026-03-01T10:15:00Z", "2026-03-02T00:00:00Z")]
    [InlineData("@midnight", "2026-03-01T10:15:00Z", "2026-03-02T00:00:00Z")]
    [InlineData("@weekly", "2026-03-04T10:15:00Z", "2026-03-08T00:00:00Z")]
    [InlineData("@monthly", "2026-03-04T10:15:00Z", "2026-04-01T00:00:00Z")]
    [InlineData("@yearly", "2026-03-04T10:15:00Z", "2027-01-01T00:00:00Z")]
    [InlineData("@every_second", "2026-03-01T10:15:00Z", "2026-03-01T10:15:01Z")]
    public void Next_slot_is_the_first_match_strictly_after_the_instant(string cron, string from, string expected)
    {
        Assert.Equal(expected, Slots(Parse(cron), from, 1).Single());
    }

    [Fact]
    public void An_instant_exactly_on_a_slot_yields_the_following_slot()
    {
        Assert.Equal("2026-03-01T12:00:00Z", Slots(Parse("0 * * * *"), "2026-03-01T11:00:00Z", 1).Single());
    }

    [Fact]
    public void Six_fields_put_seconds_first()
    {
        var trigger = Parse("15 30 * * * *");
        Assert.True(trigger.HasSeconds);
        Assert.Equal(["2026-03-01T10:30:15Z", "2026-03-01T11:30:15Z"], Slots(trigger, "2026-03-01T10:15:00Z", 2));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("* * * *", "has 4")]
    [InlineData("* * * * * * *", "has 7")]
    [InlineData("61 * * * *", "not a valid cron expression")]
    [InlineData("* * * * FOO", "not a valid cron expression")]
    [InlineData("@fortnightly", "not a valid cron expression")]
    public void Invalid_expressions_are_refused_with_a_reason(string cron, string reason)
    {
        Assert.False(CronTrigger.TryParse(cron, TimeZoneInfo.Utc, out _, out var error));
        Assert.Contains(reason, error);
    }

    // --- zones ---

    [Fact]
    public void Slots_are_computed_in_the_entry_zone()
    {
        // 09:00 in Berlin is 08:00 UTC in winter, 07:00 UTC in summer.
        var trigger = Parse("0 9 * * *", "Europe/Berlin");
        Assert.Equal(["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"], Slots(trigger, "2026-03-28T00:00:00Z", 2));
    }

    // --- daylight saving: no slot skipped, none doubled ---

    [Fact]
    public void Berlin_spring_forward_fires_a_skipped_daily_slot_at_the_transition()
    {
        // 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist that day.
        var trigger = Parse("30 2 * * *", "Europe/Berlin");
        Assert.Equal(
            ["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"],
            Slots(trigger, "2026-03-27T12:00:00Z", 3));
    }

    [Fact]
    public void Berlin_fall_back_fires_a_repeated_daily_slot_once()
    {
        // 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice that day.
        var trigger = Parse("30 2 * * *", "Europe/Berlin");
        Assert.Equal(
            ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
            Slots(trigger, "2026-10-23T12:00:00Z", 3));
    }

    [Fact]
    public void Berlin_fall_back_fires_an_interval_like_cron_in_both_repeated_hours()
    {
        var trigger = Parse("0,30 * * * *", "Europe/Berlin");
        // Local 02:00, 02:30 (CEST), 02:00, 02:30 (CET), 03:00: every half hour in UTC, none lost or doubled.
        Assert.Equal(
            ["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z"],
            Slots(trigger, "2026-10-24T23:45:00Z", 5));
    }

    [Fact]
    public void New_York_spring_forward_fires_a_skipped_daily_slot_at_the_transition()
    {
        // 2026-03-08 02:00 EST -> 03:00 EDT.
        var trigger = Parse("30 2 * * *", "America/New_York");
        Assert.Equal(
            ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"],
            Slots(trigger, "2026-03-07T00:00:00Z", 3));
    }

    [Fact]
    public void New_York_fall_back_fires_a_repeated_daily_slot_once()
    {
        // 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice that day.
        var trigger = Parse("30 1 * * *", "America/New_York");
        Assert.Equal(
            ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
            Slots(trigger, "2026-10-31T00:00:00Z", 3));
    }

    [Fact]
    public void Description_names_the_expression_and_zone()
    {
        Assert.Equal("cron \"0 * * * *\" (Europe/Berlin)", Parse("0 * * * *", "Europe/Berlin").Describe());
    }
}
