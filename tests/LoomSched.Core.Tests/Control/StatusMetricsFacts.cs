using System.Text.Json;
using CsCheck;
using LoomSched.Control;
using LoomSched.Scheduling;

namespace LoomSched.Tests.Control;

/// <summary>A status as Prometheus text: from a reply (<c>status --format prometheus</c>) and from the engine (<c>/metrics</c>).</summary>
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

    // --- the engine's status, written directly and through its reply ---

    private static readonly DateTimeOffset Started = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    private static readonly Gen<string> Names = Gen.OneOf("poll", "", "say \"hi\"\nnow", "back\\slash", "ünïcode ☃", "edge");

    private static ScheduleStatus Schedule(string name, bool paused = false, string? error = null, LatenessSnapshot? lateness = null) =>
        new(name, "every 30 s", paused ? null : Started.AddTicks(301_234_567), Started, Started.AddTicks(4_321), 0.123456,
            Fires: 41, Dispatched: 40, Errors: error is null ? 0 : 1, Skipped: 2, Missed: 3, Paused: paused, Running: false,
            LastError: error, NotClaimed: 5, Lateness: lateness);

    public static TheoryData<string, SchedulerStatus, PublishCounters?> Statuses() => new()
    {
        { "no schedules, publisher starting", new SchedulerStatus("edge", Started, Started.AddTicks(12_345_678), []), null },
        { "with a lateness histogram", new SchedulerStatus("edge", Started, Started.AddSeconds(90.5), [
            Schedule("poll", lateness: new LatenessSnapshot([.. LatenessHistogram.BoundsMs.Select((_, i) => (long)(i * 3))], 40, 21.50049))]),
            new PublishCounters(40, 2, 10_000, 0, 1, 0) },
        { "paused, without a histogram", new SchedulerStatus("edge", Started, Started.AddSeconds(1), [Schedule("say \"hi\"\nnow", paused: true)]),
            new PublishCounters(0, 0, 10, 0, 0, 0) },
        { "with an error and no lateness yet", new SchedulerStatus("edge", Started, Started.AddDays(3), [
            Schedule("a", error: "expansion failed"), Schedule("b") with { LastLatenessMs = null, NextFire = null },
            Schedule("c", lateness: LatenessSnapshot.None)]), new PublishCounters(long.MaxValue, 7, 8, 9, 10, 11) },
    };

    [Theory]
    [MemberData(nameof(Statuses))]
    public void The_engine_status_reads_the_same_written_directly_as_through_its_reply(string what, SchedulerStatus status, PublishCounters? publisher)
    {
        _ = what;
        Assert.Equal(ThroughReply(status, publisher), StatusMetrics.Of(status, publisher));
    }

    [Fact]
    public void Any_engine_status_reads_the_same_written_directly_as_through_its_reply()
    {
        var time = Gen.Long[0, TimeSpan.TicksPerDay * 3650].Select(t => Started.AddTicks(t));
        var maybeTime = Gen.Select(Gen.Bool, time, (has, t) => has ? t : (DateTimeOffset?)null);
        var count = Gen.Frequency((3, Gen.Long[0, 1000]), (1, Gen.Long[0, long.MaxValue]));
        var lateness = Gen.Select(Gen.Bool, count.Array[LatenessHistogram.BoundsMs.Count], count, Gen.Double[0, 1e9],
            (has, atMost, n, sum) => has ? new LatenessSnapshot([.. atMost.Order()], n, sum) : null);
        var schedule = Gen.Select(Names, maybeTime, maybeTime, Gen.Select(Gen.Bool, Gen.Double[-5, 1e7], (has, ms) => has ? ms : (double?)null),
            count.Array[6], Gen.Bool, lateness, Gen.Select(Gen.Bool, Names, (has, e) => has ? e : null),
            (name, next, last, late, counters, paused, histogram, error) => new ScheduleStatus(name, "cron \"0 * * * *\" (UTC)", next, last, last,
                late, counters[0], counters[1], counters[2], counters[3], counters[4], paused, Running: false, error, counters[5], histogram));
        var publisher = Gen.Select(Gen.Bool, count.Array[6], (has, c) => has ? new PublishCounters(c[0], c[1], c[2], c[3], c[4], c[5]) : (PublishCounters?)null);
        var gen = Gen.Select(Names, Gen.Long[0, TimeSpan.TicksPerDay * 400], schedule.Array[0, 6], publisher,
            (name, uptime, schedules, counters) => (new SchedulerStatus(name, Started, Started.AddTicks(uptime), schedules), counters));

        gen.Sample(c => Assert.Equal(ThroughReply(c.Item1, c.Item2), StatusMetrics.Of(c.Item1, c.Item2)), iter: 2000, threads: 1);
    }

    private static string ThroughReply(SchedulerStatus status, PublishCounters? publisher)
    {
        byte[] reply = ControlHandler.StatusReply(status, "1.0.0", w => publisher?.WriteTo(w));
        return StatusMetrics.Of(JsonDocument.Parse(reply).RootElement);
    }
}
