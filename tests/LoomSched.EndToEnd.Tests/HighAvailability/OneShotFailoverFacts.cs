using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit.Abstractions;

namespace LoomSched.EndToEnd.Tests.HighAvailability;

/// <summary>
/// A one-shot (<c>at</c>) on two replicas in leader mode whose leader is SIGKILLed shortly before the instant: the
/// instant passes while nobody leads, and the replica that takes over fires it, once. Counted raw on the task subject
/// and in a JetStream stream that drops duplicates by Nats-Msg-Id.
/// </summary>
[Collection("nats")]
public sealed class OneShotFailoverFacts(NatsFixture nats, ITestOutputHelper output)
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    /// <summary>How long before the instant the leader dies: shorter than its last renewed lease has left, so nobody leads at the instant.</summary>
    private static readonly TimeSpan KillAhead = TimeSpan.FromSeconds(1.5);

    private static DateTimeOffset Slot(Received m) =>
        DateTimeOffset.Parse(m.Header("Loom-Scheduled-For")!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static DateTimeOffset WholeSecondsFromNow(double seconds)
    {
        var t = DateTimeOffset.UtcNow.AddSeconds(seconds);
        return new DateTimeOffset(t.Ticks - (t.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Coordination(string prefix) =>
        $"{{mode: leader, lease_bucket: {prefix}_lease, state_bucket: {prefix}_state, lease_ttl_seconds: 3}}";

    [Fact]
    public async Task A_file_one_shot_whose_leader_dies_just_before_its_instant_is_fired_exactly_once_by_the_new_leader()
    {
        var prefix = TempConfig.UniqueName("of");
        // Far enough ahead for both replicas to start and elect a leader on a loaded machine.
        var at = WholeSecondsFromNow(30);
        var config = TempConfig.Write($$"""
            name: of
            subject_prefix: {{prefix}}
            coordination: {{Coordination(prefix)}}
            schedules:
              - name: once
                at: {{Iso(at)}}
                task: {worker_type: w}
            """);
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        var stream = await CaptureStreamAsync(prefix);
        await using var set = Replicas.Start(config, nats.Server.Url, 2);
        var leader = await Replicas.WaitForLeaderAsync(set.All, null, TimeSpan.FromSeconds(20));

        await KillBeforeAndCheckAsync(set, leader, at, prefix, "of", stream, seen);
    }

    [Fact]
    public async Task A_one_shot_created_at_run_time_whose_leader_dies_just_before_its_instant_is_fired_exactly_once_by_the_new_leader()
    {
        var prefix = TempConfig.UniqueName("or");
        var config = TempConfig.Write($$"""
            name: or
            subject_prefix: {{prefix}}
            coordination: {{Coordination(prefix)}}
            runtime_schedules: {bucket: {{prefix}}_s}
            control: {actions: [status, list, get, create, update, delete]}
            schedules: []
            """);
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        var stream = await CaptureStreamAsync(prefix);
        await using var set = Replicas.Start(config, nats.Server.Url, 2);
        var leader = await Replicas.WaitForLeaderAsync(set.All, null, TimeSpan.FromSeconds(20));
        foreach (var r in set.All)
        {
            await r.WaitForLogAsync("runtime schedules: loaded bucket", TimeSpan.FromSeconds(20));
        }
        await Task.Delay(TimeSpan.FromSeconds(1)); // the election settles: the follower refuses writes

        var at = WholeSecondsFromNow(12);
        var request = new JsonObject
        {
            ["action"] = "create",
            ["schedule"] = new JsonObject { ["name"] = "once", ["at"] = Iso(at), ["task"] = new JsonObject { ["worker_type"] = "w" } },
        }.ToJsonString();
        // Both replicas answer; the follower's refusal comes later, so the first reply is the leader's.
        var reply = await nats.Client.RequestAsync<byte[], byte[]>($"{prefix}.scheduler.or", Encoding.UTF8.GetBytes(request),
            requestSerializer: Raw, replySerializer: Raw, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(10) });
        var created = JsonDocument.Parse(reply.Data!).RootElement;
        Assert.True(created.GetProperty("ok").GetBoolean(), created.GetRawText());
        foreach (var r in set.All)
        {
            await r.WaitForLogAsync("reloaded: 1 added, 0 removed", TimeSpan.FromSeconds(5));
        }

        await KillBeforeAndCheckAsync(set, leader, at, prefix, "or", stream, seen);
    }

    private async Task<string> CaptureStreamAsync(string prefix)
    {
        string stream = prefix.ToUpperInvariant();
        await new NatsJSContext(nats.Client).CreateStreamAsync(
            new StreamConfig(stream, [$"{prefix}.tasks.incoming"]) { DuplicateWindow = TimeSpan.FromMinutes(5) });
        return stream;
    }

    /// <summary>
    /// SIGKILLs <paramref name="leader"/> shortly before <paramref name="at"/>, then checks that the survivor took over
    /// after the instant, sent its one message, and reports the one-shot done.
    /// </summary>
    private async Task KillBeforeAndCheckAsync(
        Replicas set, Loomsched leader, DateTimeOffset at, string prefix, string name, string stream, Captured seen)
    {
        var killAt = at - KillAhead;
        var wait = killAt - DateTimeOffset.UtcNow;
        Assert.True(wait > TimeSpan.Zero, $"the replicas took too long to start: the kill was due {-wait.TotalSeconds:0.0} s ago");
        await Task.Delay(wait);
        leader.Signal(Signals.SIGKILL);
        var killedAt = DateTimeOffset.UtcNow;
        Assert.True(killedAt < at, $"the leader was killed {(killedAt - at).TotalSeconds:0.00} s after the instant");
        Assert.Empty(seen.Messages);

        var survivor = await Replicas.WaitForLeaderAsync(set.All, leader, TimeSpan.FromSeconds(30));
        var electedAt = DateTimeOffset.UtcNow;
        await seen.WaitForAsync(1, TimeSpan.FromSeconds(30));
        // Any second copy (a catch-up and the waiting fire both sending) would come within this.
        await Task.Delay(TimeSpan.FromSeconds(5));

        output.WriteLine($"at {Iso(at)}; killed {(killedAt - at).TotalSeconds:0.00} s from it; new leader seen {(electedAt - at).TotalSeconds:0.00} s after it");
        foreach (var r in set.All)
        {
            Replicas.Print(output, r == leader ? "killed" : "survivor", r);
        }
        var message = Assert.Single(seen.Messages);
        Assert.Equal(at, Slot(message));
        Assert.Equal([at], await CapturedSlots.ReadAsync(new NatsJSContext(nats.Client), stream));
        Assert.DoesNotContain(leader.Stderr, l => l.Contains("fired once", StringComparison.Ordinal));
        Assert.Contains(survivor.Stderr, l => l.Contains("fired once", StringComparison.Ordinal));

        var status = await nats.Client.RequestAsync<byte[], byte[]>($"{prefix}.scheduler.{name}", "{}"u8.ToArray(),
            requestSerializer: Raw, replySerializer: Raw, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(10) });
        var root = JsonDocument.Parse(status.Data!).RootElement;
        Assert.Equal("leader", root.GetProperty("coordination").GetProperty("role").GetString());
        var once = root.GetProperty("schedules").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "once");
        Assert.True(once.GetProperty("done").GetBoolean(), once.GetRawText());
        Assert.Equal(1, once.GetProperty("fires").GetInt64());
        Assert.Equal(JsonValueKind.Null, once.GetProperty("next_fire").ValueKind);
    }
}
