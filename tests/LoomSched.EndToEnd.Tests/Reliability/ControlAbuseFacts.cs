using System.Diagnostics;
using System.Text;
using LoomSched.EndToEnd.Tests.Reliability.Support;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Reliability;

/// <summary>A flood of malformed control requests must be answered with errors and leave the schedules untouched.</summary>
[Collection("reliability")]
public sealed class ControlAbuseFacts
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    private static IEnumerable<byte[]> Garbage()
    {
        var random = new Random(7);
        var bytes = new byte[512];
        random.NextBytes(bytes);
        yield return Encoding.UTF8.GetBytes("not json at all");
        yield return bytes;
        yield return [0xFF, 0xFE, 0x00, 0x7B];
        yield return Encoding.UTF8.GetBytes("""{"action":"status" """);
        yield return Encoding.UTF8.GetBytes("null");
        yield return Encoding.UTF8.GetBytes("\"status\"");
        yield return Encoding.UTF8.GetBytes("""{"action":{"nested":true}}""");
        yield return Encoding.UTF8.GetBytes("""{"action":"launch_missiles"}""");
        yield return Encoding.UTF8.GetBytes("""{"action":"pause"}""");
        yield return Encoding.UTF8.GetBytes("""{"action":"pause","schedule":"no_such_schedule"}""");
        yield return Encoding.UTF8.GetBytes("""{"action":"trigger","schedule":["tick"]}""");
        yield return Encoding.UTF8.GetBytes("""{"action":"trigger","schedule":"tick\ud800"}""");
        yield return Encoding.UTF8.GetBytes("""{"action":"\ud800"}""");
        yield return Encoding.UTF8.GetBytes(new string('[', 100_000) + new string(']', 100_000));
        yield return Encoding.UTF8.GetBytes("{\"action\":\"status\",\"pad\":\"" + new string('x', 900_000) + "\"}");
        yield return Encoding.UTF8.GetBytes("{\"" + string.Concat(Enumerable.Range(0, 5000).Select(i => $"k{i}\":1,\"")) + "action\":\"nope\"}");
    }

    [Fact]
    public async Task A_flood_of_malformed_control_requests_gets_error_replies_while_a_schedule_keeps_every_slot_on_time()
    {
        await using var server = await NatsServer.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        var prefix = TempConfig.UniqueName("abuse");
        var config = TempConfig.Write($$"""
            name: abused
            subject_prefix: {{prefix}}
            schedules:
              - name: tick
                interval_seconds: 0.2
                task: {worker_type: w}
            """);
        await using var seen = await Recorder.StartAsync(server.Url, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(config, server.Url);
        await seen.WaitForAsync(1, TimeSpan.FromSeconds(15));
        string subject = $"{prefix}.scheduler.abused";

        var garbage = Garbage().ToList();
        int answered = 0, rounds = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            // Eight at a time, as a misbehaving client would.
            var replies = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
            {
                var body = garbage[(answered + i) % garbage.Count];
                var reply = await client.RequestAsync(subject, body, requestSerializer: Raw, replySerializer: Raw,
                    replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(5) });
                return System.Text.Json.JsonDocument.Parse(reply.Data!).RootElement.Clone();
            }));
            foreach (var reply in replies)
            {
                Assert.False(reply.GetProperty("ok").GetBoolean(), reply.GetRawText());
                Assert.False(string.IsNullOrEmpty(reply.GetProperty("error").GetString()));
                Assert.DoesNotContain("internal error", reply.GetProperty("error").GetString(), StringComparison.Ordinal);
            }
            // The reload broadcast has no reply to give; garbage there must simply be ignored.
            await client.PublishAsync($"{prefix}.control.reload", garbage[rounds++ % garbage.Count]);
            answered += replies.Length;
        }
        var end = DateTimeOffset.UtcNow;
        await Task.Delay(Tick * 2);

        Assert.True(answered >= garbage.Count, $"only {answered} requests were answered");
        Assert.True(rounds >= garbage.Count, $"only {rounds} broadcasts were sent");
        var ticks = seen.Of("tick").Where(m => m.SlotTime <= end).ToList();
        var slots = Slots.Indexes(ticks, Tick);
        Assert.True(slots.SequenceEqual(Enumerable.Range(0, slots.Count).Select(i => (long)i)), Slots.Describe(slots));
        Assert.True(slots.Count >= 15, $"{slots.Count} slots");
        Assert.All(ticks, m => Assert.InRange((m.At - m.SlotTime).TotalMilliseconds, -5, 250));
        var status = await Control.StatusAsync(client, subject);
        var tick = Control.Schedule(status, "tick");
        Assert.False(tick.GetProperty("paused").GetBoolean());
        Assert.Equal(0, tick.GetProperty("errors").GetInt64());
        Assert.DoesNotContain(daemon.Stderr, l => l.Contains("reloaded", StringComparison.Ordinal) || l.Contains("internal error", StringComparison.Ordinal));
        Assert.False(daemon.HasExited);

        // The garbage on the broadcast did not end its subscription: a real reload is still heard.
        await client.PublishAsync($"{prefix}.control.reload", Encoding.UTF8.GetBytes("""{"action":"reload"}"""));
        await daemon.WaitForLogAsync("reloaded", TimeSpan.FromSeconds(10));
    }
}
