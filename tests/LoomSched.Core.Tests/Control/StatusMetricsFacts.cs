using System.Text.Json;
using LoomSched.Control;

namespace LoomSched.Tests.Control;

/// <summary>A status reply as Prometheus text (<c>loomsched status --format prometheus</c>).</summary>
public sealed class StatusMetricsFacts
{
    private const string Status = """
        {"ok":true,"scheduler":"edge","uptime_seconds":12.5,"published":40,"pending":2,"max_pending":10000,"dropped":0,
         "publish_errors":1,"resent":0,"late_ms_bounds":[0.5,1,30000],"schedules":[
          {"name":"poll","next_fire":"2026-12-07T10:00:30Z","last_late_ms":0.42,
           "late_ms":{"count":40,"sum":21.5,"at_most":[30,39,40]},"fires":41,"dispatched":41,"errors":1,
           "skipped":0,"missed":3,"not_claimed":0,"paused":false},
          {"name":"say \"hi\"\nnow","next_fire":null,"last_late_ms":null,"fires":0,"dispatched":0,"errors":0,
           "skipped":0,"missed":0,"not_claimed":0,"paused":true}]}
        """;

    private static string[] Lines(string json) => StatusMetrics.Of(JsonDocument.Parse(json).RootElement).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Theory]
    [InlineData("loomsched_up{scheduler=\"edge\"} 1")]
    [InlineData("loomsched_published_total{scheduler=\"edge\"} 40")]
    [InlineData("loomsched_pending{scheduler=\"edge\"} 2")]
    [InlineData("loomsched_publish_errors_total{scheduler=\"edge\"} 1")]
    [InlineData("loomsched_uptime_seconds{scheduler=\"edge\"} 12.5")]
    [InlineData("loomsched_schedule_fires_total{scheduler=\"edge\",schedule=\"poll\"} 41")]
    [InlineData("loomsched_schedule_missed_total{scheduler=\"edge\",schedule=\"poll\"} 3")]
    [InlineData("loomsched_schedule_last_late_milliseconds{scheduler=\"edge\",schedule=\"poll\"} 0.42")]
    [InlineData("loomsched_schedule_paused{scheduler=\"edge\",schedule=\"poll\"} 0")]
    [InlineData("loomsched_schedule_next_fire_timestamp_seconds{scheduler=\"edge\",schedule=\"poll\"} 1796637630")]
    [InlineData("loomsched_schedule_paused{scheduler=\"edge\",schedule=\"say \\\"hi\\\"\\nnow\"} 1")] // a quote and a line feed, escaped
    [InlineData("# TYPE loomsched_schedule_late_milliseconds histogram")]
    [InlineData("loomsched_schedule_late_milliseconds_bucket{scheduler=\"edge\",schedule=\"poll\",le=\"0.5\"} 30")]
    [InlineData("loomsched_schedule_late_milliseconds_bucket{scheduler=\"edge\",schedule=\"poll\",le=\"30000\"} 40")]
    [InlineData("loomsched_schedule_late_milliseconds_bucket{scheduler=\"edge\",schedule=\"poll\",le=\"+Inf\"} 40")]
    [InlineData("loomsched_schedule_late_milliseconds_sum{scheduler=\"edge\",schedule=\"poll\"} 21.5")]
    [InlineData("loomsched_schedule_late_milliseconds_count{scheduler=\"edge\",schedule=\"poll\"} 40")]
    public void A_status_reply_becomes_these_samples(string sample) => Assert.Contains(sample, Lines(Status));

    [Fact]
    public void Every_family_has_help_and_type_once_and_samples_only_of_known_families()
    {
        var lines = Lines(Status);
        var types = lines.Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
        Assert.Equal(types.Count, types.Distinct().Count());
        Assert.Equal(types.Count, lines.Count(l => l.StartsWith("# HELP ", StringComparison.Ordinal)));
        // A histogram's samples are its family's name with _bucket, _sum or _count.
        Assert.All(lines.Where(l => !l.StartsWith('#')), l => Assert.Contains(
            System.Text.RegularExpressions.Regex.Replace(l[..l.IndexOf('{')], "_(bucket|sum|count)$", ""), types));
        // A schedule without a number (no lateness yet, no next slot) has no sample rather than a made-up one.
        Assert.DoesNotContain(lines, l => l.Contains("last_late_milliseconds{scheduler=\"edge\",schedule=\"say", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("next_fire_timestamp_seconds{scheduler=\"edge\",schedule=\"say", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("late_milliseconds_count{scheduler=\"edge\",schedule=\"say", StringComparison.Ordinal));
    }

    [Fact]
    public void A_daemon_that_did_not_answer_reads_as_down()
    {
        Assert.Equal("# HELP loomsched_up 1 when the daemon answered status.\n# TYPE loomsched_up gauge\nloomsched_up{scheduler=\"edge\"} 0\n",
            StatusMetrics.Down("edge"));
    }
}
