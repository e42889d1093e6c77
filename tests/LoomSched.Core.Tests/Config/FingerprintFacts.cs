using LoomSched.Config;

namespace LoomSched.Core.Tests.Config;

/// <summary>Reload keeps a schedule's slots only when its fingerprint is unchanged.</summary>
public sealed class FingerprintFacts
{
    private const string Entry = """
          - name: poll
            cron: "*/5 * * * *"
            task:
              worker_type: poller
              payload: {queue: inbound, limit: 10}
              priority: low
            expand_from: range
            expand_args: {count: 3}
        """;

    private static string Fingerprint(string entry, string top = "", string other = "")
    {
        string yaml = $"name: t\n{top}schedules:\n{other}{entry}";
        var result = ConfigLoader.LoadText(yaml, "t.yaml");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return result.Config!.Schedules.Single(s => s.Name == "poll").Fingerprint;
    }

    [Fact]
    public void Identical_entry_has_an_equal_fingerprint_whatever_else_changes()
    {
        string other = "  - name: other\n    interval_seconds: 10\n    task: {worker_type: w}\n";

        Assert.Equal(Fingerprint(Entry), Fingerprint(Entry));
        Assert.Equal(Fingerprint(Entry), Fingerprint(Entry, top: "max_pending: 5\n", other: other));
    }

    [Fact]
    public void Quoting_style_and_comments_do_not_change_the_fingerprint()
    {
        string restyled = Entry.Replace("worker_type: poller", "worker_type: 'poller'   # the poller", StringComparison.Ordinal);

        Assert.Equal(Fingerprint(Entry), Fingerprint(restyled));
    }

    [Theory]
    [InlineData("*/5 * * * *", "*/10 * * * *")]
    [InlineData("worker_type: poller", "worker_type: poller2")]
    [InlineData("queue: inbound", "queue: outbound")]
    [InlineData("limit: 10", "limit: 10.0")]
    [InlineData("limit: 10", "limit: \"10\"")]
    [InlineData("queue: inbound, limit: 10", "limit: 10, queue: inbound")]
    [InlineData("priority: low", "priority: high")]
    [InlineData("count: 3", "count: 4")]
    [InlineData("expand_args: {count: 3}", "expand_args: {count: 3}\n    max_expansion: 5")]
    public void Any_change_to_the_entry_changes_the_fingerprint(string before, string after)
    {
        string changed = Entry.Replace(before, after, StringComparison.Ordinal);
        Assert.NotEqual(Entry, changed);

        Assert.NotEqual(Fingerprint(Entry), Fingerprint(changed));
    }

    [Fact]
    public void Inherited_time_zone_subject_prefix_and_catch_up_are_part_of_the_fingerprint()
    {
        string plain = Fingerprint(Entry);

        Assert.NotEqual(plain, Fingerprint(Entry, top: "time_zone: Europe/Berlin\n"));
        Assert.NotEqual(plain, Fingerprint(Entry, top: "subject_prefix: heddle\n"));
        Assert.NotEqual(plain, Fingerprint(Entry, top: "catch_up: {policy: all}\n"));
        Assert.Equal(plain, Fingerprint(Entry, top: "time_zone: UTC\n"));
    }

    private static string FingerprintOf(string entry, string top)
    {
        var result = ConfigLoader.LoadText($"name: t\n{top}\nschedules:\n  - name: poll\n    task: {{worker_type: w}}\n    {entry}\n", "t.yaml");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return result.Config!.Schedules.Single().Fingerprint;
    }

    [Theory]
    // the entry's timing, the top level before, after → whether the schedule changes (restarts) on reload
    [InlineData("interval_seconds: 86400", "time_zone: UTC", "time_zone: Europe/Paris", false)]
    [InlineData("interval_seconds: 86400", "", "time_zone: America/New_York", false)]
    [InlineData("cron: \"0 3 * * *\"", "time_zone: UTC", "time_zone: Europe/Paris", true)]
    [InlineData("cron: \"@daily\"", "time_zone: UTC", "time_zone: Europe/Paris", true)]
    [InlineData("cron: \"0 3 * * *\"\n    time_zone: Asia/Tokyo", "time_zone: UTC", "time_zone: Europe/Paris", false)]
    [InlineData("at: \"2030-01-01T00:00:00Z\"", "time_zone: UTC", "time_zone: Europe/Paris", false)]
    [InlineData("at: \"2030-06-01T00:00:00+02:00\"", "time_zone: UTC", "time_zone: Asia/Tokyo", false)]
    [InlineData("at: \"2030-06-01T00:00:00\"", "time_zone: UTC", "time_zone: Europe/Paris", true)]
    [InlineData("at: \"2030-01-01T00:00:00\"", "time_zone: UTC", "time_zone: Europe/London", false)] // the same instant in winter
    [InlineData("interval_seconds: 60\n    start_at: \"2030-06-01T08:00:00Z\"", "time_zone: UTC", "time_zone: Europe/Paris", false)]
    [InlineData("interval_seconds: 60\n    start_at: \"2030-06-01T08:00:00\"", "time_zone: UTC", "time_zone: Europe/Paris", true)]
    [InlineData("interval_seconds: 60\n    end_at: \"2030-06-01T08:00:00\"", "time_zone: UTC", "time_zone: Europe/Paris", true)]
    [InlineData("interval_seconds: 60", "cron_seconds: first", "cron_seconds: last", false)]
    [InlineData("interval_seconds: 60", "", "cron_seconds: last", false)]
    [InlineData("cron: \"0 3 * * *\"", "cron_seconds: first", "cron_seconds: last", false)]
    [InlineData("cron: \"@hourly\"", "cron_seconds: first", "cron_seconds: last", false)]
    [InlineData("at: \"2030-01-01T00:00:00Z\"", "cron_seconds: first", "cron_seconds: last", false)]
    [InlineData("cron: \"0 0 3 * * *\"", "cron_seconds: first", "cron_seconds: last", true)]
    [InlineData("cron: \"0 0 0 * * *\"", "", "cron_seconds: first", true)]
    [InlineData("cron: \"0 0 3 * * *\"\n    cron_seconds: first", "cron_seconds: first", "cron_seconds: last", false)]
    [InlineData("interval_seconds: 60", "catch_up: {policy: skip}", "catch_up: {policy: all}", true)]
    [InlineData("interval_seconds: 60", "max_pending: 5", "max_pending: 50", false)]
    public void A_top_level_default_changes_a_schedule_only_when_the_schedule_reads_it(string timing, string before, string after, bool changes)
    {
        string was = FingerprintOf(timing, before);
        string now = FingerprintOf(timing, after);

        Assert.Equal(changes, was != now);
    }
}
