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
}
