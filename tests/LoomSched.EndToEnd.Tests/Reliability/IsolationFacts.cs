using System.Globalization;
using System.Text.RegularExpressions;
using LoomSched.EndToEnd.Tests.Reliability.Support;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Reliability;

/// <summary>
/// One schedule failing in each way the daemon can fail a fire (its expansion throws, its expansion returns too
/// much, NATS refuses its message) next to a healthy schedule: each failure is logged with the schedule's name
/// and counted in status, and the healthy schedule keeps every slot, on time.
/// </summary>
[Collection("reliability")]
public sealed partial class IsolationFacts
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan OnTime = TimeSpan.FromMilliseconds(250);

    [Fact]
    public async Task Failing_expansions_and_refused_publishes_are_logged_and_counted_while_a_healthy_schedule_keeps_its_timing()
    {
        // A server that refuses messages over 8 KiB; the "oversize" schedule's payload is 9,000 characters.
        await using var server = await NatsServer.StartWithConfigTextAsync("max_payload: 8192\n");
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        var prefix = TempConfig.UniqueName("iso");
        var missing = Path.Combine(Path.GetTempPath(), $"loomsched-missing-{Guid.NewGuid():N}.json");
        var config = TempConfig.Write($$$"""
            name: iso
            subject_prefix: {{{prefix}}}
            schedules:
              - name: healthy
                interval_seconds: 0.25
                task: {worker_type: w}
              - name: thrower
                interval_seconds: 0.25
                task: {worker_type: w}
                expand_from: json_file
                expand_args: {path: "{{{missing}}}"}
              - name: too_many
                interval_seconds: 0.25
                task: {worker_type: w}
                expand_from: range
                expand_args: {count: 1000}
                max_expansion: 10
              - name: oversize
                interval_seconds: 0.25
                task: {worker_type: w, payload: {blob: "{{{new string('x', 9000)}}}"}}
            """);
        await using var seen = await Recorder.StartAsync(server.Url, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(config, server.Url);
        var healthy = await seen.WaitForAsync(12, TimeSpan.FromSeconds(20), "healthy");
        var status = await Control.StatusAsync(client, $"{prefix}.scheduler.iso");

        // The healthy schedule: every slot, each on time.
        var slots = Slots.Indexes(healthy, Tick);
        Assert.True(slots.SequenceEqual(Enumerable.Range(0, slots.Count).Select(i => (long)i)), Slots.Describe(slots));
        Assert.All(healthy, m => Assert.InRange((m.At - m.SlotTime).TotalMilliseconds, -5, OnTime.TotalMilliseconds));
        Assert.Equal(0, Control.Schedule(status, "healthy").GetProperty("errors").GetInt64());

        // Nothing of the failing schedules reached NATS.
        Assert.DoesNotContain(seen.Messages, m => m.Schedule != "healthy");

        var thrower = Control.Schedule(status, "thrower");
        Assert.True(thrower.GetProperty("errors").GetInt64() >= 5, thrower.GetRawText());
        Assert.Contains("json_file", thrower.GetProperty("last_error").GetString());
        Assert.Contains(Path.GetFileName(missing), thrower.GetProperty("last_error").GetString());
        Assert.Contains(daemon.Stderr, l => l.Contains("fire failed thrower slot=", StringComparison.Ordinal) && l.Contains(Path.GetFileName(missing), StringComparison.Ordinal));

        var tooMany = Control.Schedule(status, "too_many");
        Assert.True(tooMany.GetProperty("errors").GetInt64() >= 5, tooMany.GetRawText());
        Assert.Contains("more than 10 maps (max_expansion); nothing was sent", tooMany.GetProperty("last_error").GetString());
        Assert.Contains(daemon.Stderr, l => l.Contains("fire failed too_many slot=", StringComparison.Ordinal));

        // A refused publish is the port's failure, not the fire's: counted once per message in publish_errors.
        Assert.True(status.GetProperty("publish_errors").GetInt64() >= 5, status.GetRawText());
        Assert.Equal(status.GetProperty("publish_errors").GetInt64(), Control.Schedule(status, "oversize").GetProperty("dispatched").GetInt64(), 1.0);
        Assert.Contains(daemon.Stderr, l => l.Contains("publish failed oversize slot=", StringComparison.Ordinal) && l.Contains("8192", StringComparison.Ordinal));
        Assert.Equal("open", status.GetProperty("nats").GetString());
        Assert.DoesNotContain(daemon.Stderr, l => l.Contains("nats disconnected", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_thousand_messages_refused_as_too_large_are_counted_at_once_while_a_healthy_schedule_keeps_its_timing()
    {
        // Each refusal is an error line, which is written before the publisher goes on: written after the log's
        // gather, a thousand of them held the publisher about five seconds, and the healthy schedule's messages with it.
        await using var server = await NatsServer.StartWithConfigTextAsync("max_payload: 8192\n");
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        var prefix = TempConfig.UniqueName("big");
        var config = TempConfig.Write($$$"""
            name: big
            subject_prefix: {{{prefix}}}
            schedules:
              - name: healthy
                interval_seconds: 0.25
                task: {worker_type: w}
              - name: oversize
                interval_seconds: 3600
                task: {worker_type: w, payload: {blob: "{{{new string('x', 9000)}}}"}}
                expand_from: range
                expand_args: {count: 1000}
            """);
        await using var seen = await Recorder.StartAsync(server.Url, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(config, server.Url);
        await seen.WaitForAsync(2, TimeSpan.FromSeconds(15), "healthy");

        string subject = $"{prefix}.scheduler.big";
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Control.TriggerAsync(client, subject, "oversize");
        long refused = 0;
        while (refused < 1000 && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
            refused = (await Control.StatusAsync(client, subject)).GetProperty("publish_errors").GetInt64();
        }
        var took = watch.Elapsed;
        int before = seen.Of("healthy").Count;
        await seen.WaitForAsync(before + 4, TimeSpan.FromSeconds(10), "healthy");

        Assert.Equal(1000, refused);
        Assert.True(took < TimeSpan.FromSeconds(2.5), $"1,000 refusals took {took.TotalMilliseconds:0} ms");
        // Said once per batch (up to 1,024 messages), with how many, not a thousand lines.
        var lines = daemon.Stderr.Where(l => l.Contains("publish failed oversize slot=", StringComparison.Ordinal)).ToList();
        Assert.InRange(lines.Count, 1, 8);
        Assert.Equal(1000, lines.Sum(l => RefusedCount().Match(l) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 1));
        Assert.All(lines, l => Assert.Contains("8192", l, StringComparison.Ordinal));
        Assert.All(seen.Of("healthy"), m => Assert.InRange((m.At - m.SlotTime).TotalMilliseconds, -5, OnTime.TotalMilliseconds));
    }

    [GeneratedRegex(@": (\d+) messages refused, each over the server's max_payload; the first: ")]
    private static partial Regex RefusedCount();
}
