using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoomSched.EndToEnd.Tests.Reliability.Support;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Reliability;

/// <summary>
/// NATS going away under a running daemon. The server is killed (SIGKILL) and restarted on the same port, and a
/// JetStream stream on it records what it accepted; or a link between daemon and server is cut mid-burst.
/// Interval slots are a fixed grid, so which slots fired is known exactly and every count is asserted exactly.
/// </summary>
[Collection("reliability")]
public sealed partial class OutageFacts
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(6);

    private static string TickConfig(string prefix, string extra = "") => TempConfig.Write($$"""
        name: outage
        subject_prefix: {{prefix}}
        {{extra}}
        schedules:
          - name: tick
            interval_seconds: 0.2
            task: {worker_type: w}
        """);

    /// <summary>
    /// Runs a 200 ms schedule, kills the server half-way between two slots (so the last message before the kill
    /// is confirmed and stored), keeps it down for six seconds, restarts it, lets the daemon catch up, stops the
    /// daemon, and returns the grid indexes the stream holds (stream order), the index of the last slot before
    /// the kill, and the daemon.
    /// </summary>
    private static async Task<(List<long> Indexes, long LastBeforeKill, JsonElement Status, Loomsched Daemon, NatsServer Server, NatsConnection Client)>
        RunThroughAnOutageAsync(string prefix, string extra)
    {
        var server = await NatsServer.StartAsync("-js");
        var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        await client.ConnectAsync();
        var stream = await StreamLog.CreateAsync(client, TempConfig.UniqueName("S"), $"{prefix}.tasks.incoming");
        await using var live = await Recorder.StartAsync(server.Url, $"{prefix}.tasks.incoming");

        var daemon = Loomsched.Run(TickConfig(prefix, extra), server.Url);
        var before = await live.WaitForAsync(5, TimeSpan.FromSeconds(15));
        // Half-way between two slots: the last message before the kill had 100 ms to be confirmed and stored.
        var last = before[^1].SlotTime;
        var killAt = last + Tick / 2;
        var wait = killAt - DateTimeOffset.UtcNow;
        Assert.True(wait > TimeSpan.Zero, $"the test fell {-wait.TotalMilliseconds} ms behind the slots; the machine is too loaded");
        await Task.Delay(wait);
        await server.StopAsync();
        var killedAt = DateTimeOffset.UtcNow;
        await Task.Delay(Outage);
        await server.RestartAsync();

        await WaitForLogCountAsync(daemon, "nats connected", 2, TimeSpan.FromSeconds(20));
        // Caught up: nothing pending, and a few slots more on the healthy connection.
        await client.ConnectAsync();
        var subject = $"{prefix}.scheduler.outage";
        var deadline = Stopwatch.StartNew();
        JsonElement status;
        while (true)
        {
            status = await Control.StatusAsync(client, subject);
            if (status.GetProperty("pending").GetInt64() == 0 && Control.Schedule(status, "tick").GetProperty("fires").GetInt64() > 0)
            {
                break;
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"the daemon did not catch up: {status}");
            await Task.Delay(100);
        }
        await Task.Delay(Tick * 5);
        var (code, _) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);

        var stored = (await stream.ReadAllAsync(client)).Where(m => m.Schedule == "tick").ToList();
        var origin = stored.Min(m => m.SlotTime);
        var indexes = stored.Select(m => Slots.Index(m.SlotTime, origin, Tick)).ToList();
        long lastBeforeKill = Slots.Index(last, origin, Tick);
        Assert.True(killedAt < last + Tick, "the kill came after the next slot; the timing of this test is off");
        return (indexes, lastBeforeKill, status, daemon, server, client);
    }

    [Fact]
    public async Task Every_message_fired_while_the_server_was_killed_is_delivered_once_in_order_after_it_restarts()
    {
        var prefix = TempConfig.UniqueName("ko");
        var (indexes, lastBeforeKill, status, daemon, server, client) = await RunThroughAnOutageAsync(prefix, "");
        await using var _d = daemon;
        await using var _s = server;
        await using var _c = client;

        // The stream holds the grid from the first slot to the last, each slot once, in slot order: nothing of
        // the six-second outage (about thirty slots) is lost, duplicated or reordered.
        var expected = Enumerable.Range(0, indexes.Count).Select(i => (long)i).ToList();
        Assert.True(expected.SequenceEqual(indexes), $"stored slots: {Slots.Describe(indexes)}");
        long outageSlots = indexes.Count - 1 - lastBeforeKill;
        Assert.True(outageSlots >= Outage / Tick - 2, $"only {outageSlots} slots after the kill: {Slots.Describe(indexes)}");

        var stopped = Control.Stopped(daemon);
        Assert.Equal((indexes.Count, 0L, 0L, 0L), stopped);
        Assert.Equal(0, status.GetProperty("dropped").GetInt64());
        Assert.Contains(daemon.Stderr, l => l.Contains("nats disconnected; retrying", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_a_small_max_pending_the_first_messages_of_an_outage_are_kept_and_the_rest_are_counted_and_logged_as_dropped()
    {
        var prefix = TempConfig.UniqueName("mp");
        var (indexes, lastBeforeKill, status, daemon, server, client) = await RunThroughAnOutageAsync(prefix, "max_pending: 10");
        await using var _d = daemon;
        await using var _s = server;
        await using var _c = client;

        // Everything up to the kill, then the outage's first ten slots (the buffer), then one gap (the drops), then
        // every slot from the reconnect on. Each stored once, in order.
        long keptUpTo = lastBeforeKill + 10;
        Assert.True(indexes.Count == indexes.Distinct().Count() && indexes.SequenceEqual(indexes.Order()), $"stored slots: {Slots.Describe(indexes)}");
        Assert.True(indexes.Take((int)keptUpTo + 1).SequenceEqual(Enumerable.Range(0, (int)keptUpTo + 1).Select(i => (long)i)),
            $"the slots up to the kill and the ten after it must all be stored: {Slots.Describe(indexes)}");
        long resumedAt = indexes[(int)keptUpTo + 1];
        long gap = resumedAt - keptUpTo - 1;
        Assert.True(indexes.Skip((int)keptUpTo + 1).SequenceEqual(Enumerable.Range((int)resumedAt, indexes.Count - (int)keptUpTo - 1).Select(i => (long)i)),
            $"after the gap every slot must be stored: {Slots.Describe(indexes)}");
        Assert.True(gap >= Outage / Tick - 12, $"a six-second outage at 200 ms overflows a buffer of ten by about twenty; the gap is {gap}: {Slots.Describe(indexes)}");

        // The drops are exactly the gap: in status (the publisher's and the schedule's), in the final count and in the log.
        Assert.Equal(gap, status.GetProperty("dropped").GetInt64());
        Assert.Equal(gap, Assert.Single(status.GetProperty("schedules").EnumerateArray()).GetProperty("dropped").GetInt64());
        Assert.Equal(10, status.GetProperty("max_pending").GetInt64());
        var stopped = Control.Stopped(daemon);
        Assert.Equal((indexes.Count, 0L, gap, 0L), stopped);
        Assert.Contains(daemon.Stderr, l => l.Contains("dropped tick slot=", StringComparison.Ordinal)
            && l.Contains("buffer of 10 messages (max_pending) is full; dropped so far: 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Messages_in_flight_when_the_connection_drops_are_sent_again_so_none_of_a_burst_is_lost()
    {
        const int count = 50_000;
        var prefix = TempConfig.UniqueName("cut");
        await using var server = await NatsServer.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        await using var seen = await Recorder.StartAsync(server.Url, $"{prefix}.tasks.incoming");
        await using var link = Link.Open(server.Port, bytesPerSecond: 8_000_000); // about three seconds for the burst
        var config = TempConfig.Write($$"""
            name: burst
            subject_prefix: {{prefix}}
            max_pending: 100000
            schedules:
              - name: fan
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: range
                expand_args: {count: {{count}}}
            """);
        await using var daemon = Loomsched.Run(config, link.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.burst";
        await Control.StatusAsync(client, subject);

        await Control.TriggerAsync(client, subject, "fan");
        var watch = Stopwatch.StartNew();
        while (seen.Count < count / 10 && watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(5);
        }
        link.Cut();
        int atCut = seen.Count;
        await Task.Delay(TimeSpan.FromSeconds(1));
        link.Heal();

        await WaitForLogCountAsync(daemon, "nats connected", 2, TimeSpan.FromSeconds(20));
        var all = await seen.WaitForAsync(count, TimeSpan.FromSeconds(60));
        await seen.SettleAsync(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));
        all = seen.Messages;

        Assert.True(atCut < count, $"the cut came after the whole burst ({atCut} messages); it must come in the middle");
        // Every expansion index arrives. In order up to the cut; after it, NATS.Client.Core sends what it still held
        // in its write buffer on the new connection before loomsched re-sends the unconfirmed batches, so indexes
        // past a gap may come first: the gap is then filled by the re-send, never left open.
        var indexes = all.Select(m => m.Index).ToList();
        var firsts = indexes.Distinct().ToList();
        Assert.Equal(count, firsts.Count);
        Assert.True(firsts.Order().SequenceEqual(Enumerable.Range(0, count)), "some messages of the burst never arrived");
        Assert.True(firsts.Take(atCut).SequenceEqual(Enumerable.Range(0, atCut)), "messages arrived out of order before the cut");
        var status = await Control.StatusAsync(client, subject);
        long resent = status.GetProperty("resent").GetInt64();
        int copies = indexes.Count - count;
        Assert.True(copies <= resent, $"{copies} copies arrived but the daemon resent only {resent}");
        Assert.True(resent > 0, "the cut came in the middle of the burst, yet nothing was resent");
        Assert.Contains(daemon.Stderr, l => ResendLine().IsMatch(l));
        Assert.Equal(count, status.GetProperty("published").GetInt64());
        Assert.Equal(0, status.GetProperty("dropped").GetInt64());
        Assert.Equal(0, status.GetProperty("pending").GetInt64());
    }

    [Fact]
    public async Task A_fan_out_fired_while_the_server_is_away_keeps_max_pending_of_its_messages_and_counts_the_rest_as_dropped()
    {
        var prefix = TempConfig.UniqueName("fd");
        await using var server = await NatsServer.StartAsync("-js");
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        await client.ConnectAsync();
        var stream = await StreamLog.CreateAsync(client, TempConfig.UniqueName("S"), $"{prefix}.tasks.incoming");
        await using var live = await Recorder.StartAsync(server.Url, $"{prefix}.tasks.incoming");
        var config = TempConfig.Write($$"""
            name: fanout_outage
            subject_prefix: {{prefix}}
            max_pending: 300
            schedules:
              - name: burst
                interval_seconds: 4
                task: {worker_type: w}
                expand_from: range
                expand_args: {count: 1000}
            """);
        await using var daemon = Loomsched.Run(config, server.Url);

        // The first fire goes out whole (its thousand messages pass through a buffer of 300 while NATS is up); the
        // server is killed a second after its slot and comes back a second after the next one, which fires meanwhile.
        var first = await live.WaitForAsync(1000, TimeSpan.FromSeconds(20), "burst");
        var slot = first[0].SlotTime;
        var killIn = slot + TimeSpan.FromSeconds(1) - DateTimeOffset.UtcNow;
        Assert.True(killIn > TimeSpan.Zero, $"the first fire took {(-killIn + TimeSpan.FromSeconds(1)).TotalMilliseconds} ms to arrive; the machine is too loaded");
        await Task.Delay(killIn);
        await server.StopAsync();
        await Task.Delay(slot + TimeSpan.FromSeconds(5) - DateTimeOffset.UtcNow);
        await server.RestartAsync();
        await WaitForLogCountAsync(daemon, "nats connected", 2, TimeSpan.FromSeconds(20));
        Assert.True(DateTimeOffset.UtcNow < slot + TimeSpan.FromSeconds(8), "the daemon reconnected after the third slot; the timing of this test is off");
        await client.ConnectAsync();
        JsonElement status;
        var watch = Stopwatch.StartNew();
        while ((status = await Control.StatusAsync(client, $"{prefix}.scheduler.fanout_outage")).GetProperty("pending").GetInt64() > 0)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"the buffered messages were not sent: {status}");
            await Task.Delay(50);
        }

        // The outage's fire: the first 300 of its messages, once each and in order; the other 700 dropped, counted, logged.
        var stored = await stream.ReadAllAsync(client);
        Assert.Equal(Enumerable.Range(0, 1000), stored.Where(m => m.SlotTime == slot).Select(m => m.Index));
        var outage = stored.Where(m => m.SlotTime == slot + TimeSpan.FromSeconds(4)).Select(m => m.Index).ToList();
        Assert.Equal(Enumerable.Range(0, 300), outage);
        Assert.Equal(700, status.GetProperty("dropped").GetInt64());
        Assert.Equal(700, status.GetProperty("schedules").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "burst").GetProperty("dropped").GetInt64());
        Assert.Contains(daemon.Stderr, l => l.Contains("dropped burst slot=", StringComparison.Ordinal)
            && l.Contains("buffer of 300 messages (max_pending) is full; dropped so far: 512", StringComparison.Ordinal));
        Assert.DoesNotContain(daemon.Stderr, l => l.Contains("dropped so far: 1024", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"resending (\d+) message\(s\) from fan slot=\S+ on \(attempt 1\)")]
    private static partial Regex ResendLine();

    internal static async Task WaitForLogCountAsync(Loomsched daemon, string fragment, int count, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (daemon.Stderr.Count(l => l.Contains(fragment, StringComparison.Ordinal)) < count)
        {
            Assert.True(watch.Elapsed < timeout, $"the daemon did not log \"{fragment}\" {count} times in time; its log:\n{daemon.Log}");
            Assert.False(daemon.HasExited, $"the daemon exited; its log:\n{daemon.Log}");
            await Task.Delay(20);
        }
    }
}
