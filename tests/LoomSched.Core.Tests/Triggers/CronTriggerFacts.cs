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
    [InlineData("* * * * * * *", "has 7 (a year field is not supported)")]
    public void Invalid_expressions_are_refused_with_a_reason(string cron, string reason)
    {
        Assert.False(CronTrigger.TryParse(cron, TimeZoneInfo.Utc, out _, out var error));
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData("61 * * * *", "minute 61 is out of range (the minute field takes 0 to 59)")]
    [InlineData("0 24 * * *", "hour 24 is out of range (the hour field takes 0 to 23)")]
    [InlineData("0 0 0 * *", "day-of-month 0 is out of range (the day-of-month field takes 1 to 31)")]
    [InlineData("0 0 1 1-13 *", "month 13 is out of range (the month field takes 1 to 12)")]
    [InlineData("0 0 * * 8", "day-of-week 8 is out of range (the day-of-week field takes 0 to 7; 0 and 7 are Sunday)")]
    [InlineData("60 * * * * *", "second 60 is out of range (the second field takes 0 to 59)")]
    [InlineData("*/0 * * * *", "the step \"/0\" in the minute field must be a number from 1 to 59")]
    [InlineData("0 */x * * *", "the step \"/x\" in the hour field must be a number from 1 to 23")]
    [InlineData("x * * * *", "the minute field takes numbers from 0 to 59, not \"x\"")]
    [InlineData("1,,2 * * * *", "the minute field \"1,,2\" has an empty list item")]
    [InlineData("0 0 1 FOO *", "\"FOO\" is no month: write 1 to 12 or a name from JAN to DEC")]
    [InlineData("0 0 * * FOO", "\"FOO\" is no day-of-week: write 0 to 7 or a name from SUN to SAT")]
    [InlineData("0 0 * * MON#6", "\"#6\" in the day-of-week field must be from #1 to #5")]
    public void A_bad_field_is_named_with_what_it_takes(string cron, string problem)
    {
        Assert.False(CronTrigger.TryParse(cron, TimeZoneInfo.Utc, out _, out var error));
        Assert.StartsWith($"\"{cron}\" is not a valid cron expression: {problem}", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("@reboot", "\"@reboot\" is not supported: it means once at boot, and a scheduler has no boot to fire at; write a time in 5 fields, or a macro: @yearly (or @annually), @monthly, @weekly, @daily (or @midnight), @hourly, @every_minute and @every_second")]
    [InlineData("@fortnightly", "\"@fortnightly\" is not a cron macro; the macros are @yearly (or @annually), @monthly, @weekly, @daily (or @midnight), @hourly, @every_minute and @every_second")]
    [InlineData("@hourly 5", "\"@hourly 5\": a macro such as @hourly stands alone; remove what follows it")]
    public void A_macro_that_is_not_supported_is_refused_with_the_list_of_those_that_are(string cron, string error)
    {
        Assert.False(CronTrigger.TryParse(cron, TimeZoneInfo.Utc, out _, out var actual));
        Assert.Equal(error, actual);
    }

    [Theory]
    [InlineData("@HOURLY")]
    [InlineData("@annually")]
    [InlineData("@every_minute")]
    [InlineData("0 0 15W * *")]
    [InlineData("0 0 L * *")]
    [InlineData("0 0 ? * MON-FRI")]
    [InlineData("0 0 * * 5L")]
    [InlineData("0 0 * * MON#2")]
    [InlineData("0 0 1 JAN-MAR,oct *")]
    public void Macros_in_any_case_and_Cronos_extras_are_accepted(string cron) => Parse(cron);

    [Theory]
    [InlineData("0 0 30 2 *", true)]
    [InlineData("0 0 31 4 *", true)]
    [InlineData("0 0 31 2 MON", false)] // no 31 February, but its Mondays: either day field matching fires
    [InlineData("0 0 29 2 *", false)]
    [InlineData("0 0 29 2 MON", false)]
    [InlineData("0 0 31 * *", false)]
    public void An_expression_no_date_matches_is_told_apart(string cron, bool matchesNoDate) =>
        Assert.Equal(matchesNoDate, Parse(cron).MatchesNoDate());

    // --- both day fields restricted: a day matching either fires, as in cron and Loom's croniter ---

    [Theory]
    [InlineData("0 0 13 * 5", "2027-01-08T00:00:00Z 2027-01-13T00:00:00Z 2027-01-15T00:00:00Z")]
    [InlineData("0 9 1 * MON", "2027-01-01T09:00:00Z 2027-01-04T09:00:00Z 2027-01-11T09:00:00Z")]
    [InlineData("0 9 1-7 * 1", "2027-01-01T09:00:00Z 2027-01-02T09:00:00Z 2027-01-03T09:00:00Z")]
    [InlineData("0 0 30 2 1", "2027-02-01T00:00:00Z 2027-02-08T00:00:00Z 2027-02-15T00:00:00Z")]
    [InlineData("0 0 0 13 * FRI", "2027-01-08T00:00:00Z 2027-01-13T00:00:00Z 2027-01-15T00:00:00Z")]
    [InlineData("0 0 L * 3", "2027-01-06T00:00:00Z 2027-01-13T00:00:00Z 2027-01-20T00:00:00Z")]
    [InlineData("0 0 15 * 1#1", "2027-01-04T00:00:00Z 2027-01-15T00:00:00Z 2027-02-01T00:00:00Z")]
    [InlineData("0 0 1-31 * MON", "2027-01-02T00:00:00Z 2027-01-03T00:00:00Z 2027-01-04T00:00:00Z")]
    // One field unrestricted (*, ?, or every day beside a field written with a *): the other alone decides.
    [InlineData("0 0 * * 5", "2027-01-08T00:00:00Z 2027-01-15T00:00:00Z 2027-01-22T00:00:00Z")]
    [InlineData("0 0 ? * 5", "2027-01-08T00:00:00Z 2027-01-15T00:00:00Z 2027-01-22T00:00:00Z")]
    [InlineData("0 0 13 * ?", "2027-01-13T00:00:00Z 2027-02-13T00:00:00Z 2027-03-13T00:00:00Z")]
    [InlineData("0 0 1-31 * */2", "2027-01-02T00:00:00Z 2027-01-03T00:00:00Z 2027-01-05T00:00:00Z")]
    [InlineData("0 0 */2 * 0-6", "2027-01-03T00:00:00Z 2027-01-05T00:00:00Z 2027-01-07T00:00:00Z")]
    public void With_both_day_fields_restricted_a_day_matching_either_fires(string cron, string expected)
    {
        // Cronos alone fires only on a day matching both ("0 0 13 * 5": Friday the 13th), where Loom fires on each.
        Assert.Equal(expected.Split(' '), Slots(Parse(cron), "2027-01-01T00:00:00Z", 3));
    }

    [Fact]
    public void Either_day_field_keeps_the_zone_and_its_daylight_saving()
    {
        // 31 March 2027 is a Wednesday; Sunday 28 March is the spring change, 02:30 then fires at 03:00 CEST.
        Assert.Equal(
            ["2027-03-28T01:00:00Z", "2027-03-31T00:30:00Z", "2027-04-04T00:30:00Z"],
            Slots(Parse("30 2 31 * SUN", "Europe/Berlin"), "2027-03-27T00:00:00Z", 3));
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
