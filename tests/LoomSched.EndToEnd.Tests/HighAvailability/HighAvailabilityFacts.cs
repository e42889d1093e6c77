using System.Globalization;
using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit.Abstractions;

namespace LoomSched.EndToEnd.Tests.HighAvailability;

/// <summary>
/// Replicas of the published binary on one config, coordinated through JetStream KV on a real nats-server
/// (file store in a temp dir). A JetStream stream captures the task subject, deduplicating by Nats-Msg-Id, as
/// a production deployment would; a core subscription counts what was published raw.
/// </summary>
[Collection("nats")]
public sealed class HighAvailabilityFacts(NatsFixture nats, ITestOutputHelper output)
{
    private static readonly TimeSpan Half = TimeSpan.FromMilliseconds(500);

    private static DateTimeOffset Slot(Received m) =>
        DateTimeOffset.Parse(m.Header("Loom-Scheduled-For")!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    [Fact]
    public async Task Three_replicas_fire_every_slot_exactly_once_through_kills_and_a_freeze()
    {
        var prefix = TempConfig.UniqueName("ha");
        var config = TempConfig.Write($$"""
            name: ha
            subject_prefix: {{prefix}}
            coordination: {mode: leader, lease_bucket: {{prefix}}_lease, state_bucket: {{prefix}}_state, lease_ttl_seconds: 3}
            catch_up: {policy: all, window_seconds: 120}
            schedules:
              - name: half_second
                interval_seconds: 0.5
                task: {worker_type: ha_probe}
            """);
        var js = new NatsJSContext(nats.Client);
        string stream = prefix.ToUpperInvariant();
        await js.CreateStreamAsync(new StreamConfig(stream, [$"{prefix}.tasks.incoming"]) { DuplicateWindow = TimeSpan.FromMinutes(5) });
        await using var raw = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");

        var started = DateTimeOffset.UtcNow;
        await using (var set = Replicas.Start(config, nats.Server.Url, 3))
        {
            var replicas = set.All;
            var leader = await Replicas.WaitForLeaderAsync(replicas, null, TimeSpan.FromSeconds(15));
            await Task.Delay(TimeSpan.FromSeconds(10));

            // Two leaders die hard; a fresh replica replaces each, so three stay in the race.
            var gaps = new List<TimeSpan>();
            for (int kill = 0; kill < 2; kill++)
            {
                var killedAt = DateTimeOffset.UtcNow;
                leader.Signal(Signals.SIGKILL);
                set.Spawn();
                leader = await Replicas.WaitForLeaderAsync(replicas, leader, TimeSpan.FromSeconds(15));
                gaps.Add(DateTimeOffset.UtcNow - killedAt);
                await Task.Delay(TimeSpan.FromSeconds(10));
            }

            // The third leader freezes past its TTL; when it wakes it must find itself a follower.
            var frozen = leader;
            frozen.Signal(Signals.SIGSTOP);
            var frozenAt = DateTimeOffset.UtcNow;
            leader = await Replicas.WaitForLeaderAsync(replicas, frozen, TimeSpan.FromSeconds(15));
            gaps.Add(DateTimeOffset.UtcNow - frozenAt);
            await Task.Delay(TimeSpan.FromSeconds(3));
            frozen.Signal(Signals.SIGCONT);
            await frozen.WaitForLogAsync("stepped down", TimeSpan.FromSeconds(10));
            await Task.Delay(TimeSpan.FromSeconds(16)); // the whole run lasts over a minute

            foreach (var r in replicas.Where(r => !r.HasExited))
            {
                var (code, _) = await r.TerminateAsync(TimeSpan.FromSeconds(10));
                Assert.Equal(0, code);
            }
            output.WriteLine($"failover (kill or freeze to new leader elected): {string.Join(", ", gaps.Select(g => $"{g.TotalSeconds:0.0} s"))}");
            output.WriteLine($"run lasted {(DateTimeOffset.UtcNow - started).TotalSeconds:0} s");

            var slots = await CapturedSlots.ReadAsync(js, stream);
            Assert.True(slots.Count >= 100, $"only {slots.Count} slots captured");
            var ordered = slots.Order().ToList();
            Assert.Equal(ordered.Count, ordered.Distinct().Count()); // exactly once in the stream
            var missing = CapturedSlots.Missing(ordered, Half);
            Assert.True(missing.Count == 0, $"slots missing from the stream: {string.Join(", ", missing.Select(m => m.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)))}");

            // Raw duplicates come only from a new leader re-publishing a slot its predecessor left claimed.
            var duplicates = raw.Messages.GroupBy(Slot).Count(g => g.Count() > 1);
            output.WriteLine($"{slots.Count} slots, {raw.Messages.Count} raw messages, {duplicates} re-published");
            Assert.True(duplicates <= 3, $"{duplicates} slots were published more than once");
            Assert.DoesNotContain(frozen.Stderr.SkipWhile(l => !l.Contains("stepped down", StringComparison.Ordinal)),
                l => l.Contains("fired half_second", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Followers_answer_status_and_leave_control_actions_to_the_leader()
    {
        var prefix = TempConfig.UniqueName("hc");
        var config = TempConfig.Write($$"""
            name: hac
            subject_prefix: {{prefix}}
            coordination: {mode: leader, lease_bucket: {{prefix}}_lease, state_bucket: {{prefix}}_state, lease_ttl_seconds: 3}
            schedules:
              - name: hourly
                cron: "0 * * * *"
                task: {worker_type: w}
            """);
        var replicas = new List<Loomsched> { Loomsched.Run(config, nats.Server.Url), Loomsched.Run(config, nats.Server.Url) };
        try
        {
            await Replicas.WaitForLeaderAsync(replicas, null, TimeSpan.FromSeconds(15));
            var roles = new HashSet<string>();
            var subject = $"{prefix}.scheduler.hac";
            // On a loaded machine the follower may subscribe its control subject, or read who holds the lease, a moment
            // after the leader is elected: ask again until both have answered knowing the holder (15 s at most).
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            do
            {
                roles.Clear();
                await foreach (var reply in nats.Client.RequestManyAsync(subject, "{}"u8.ToArray(), requestSerializer: NatsRawSerializer<byte[]>.Default,
                    replySerializer: NatsRawSerializer<byte[]>.Default, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(2), MaxMsgs = 2 }))
                {
                    var c = JsonDocument.Parse(reply.Data!).RootElement.GetProperty("coordination");
                    if (!string.IsNullOrEmpty(c.GetProperty("lease_holder").GetString()))
                    {
                        roles.Add(c.GetProperty("role").GetString()!);
                    }
                }
            }
            while (roles.Count < 2 && DateTime.UtcNow < deadline);
            Assert.Equal(["follower", "leader"], roles.Order());

            // The leader carries the trigger out; the follower's refusal comes later and is not the answer.
            var (code, text, error) = await Loomsched.ExecAsync("trigger", "hourly", "--name", "hac", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
            Assert.True(code == 0, text + error);
            Assert.Contains("triggered", text);
        }
        finally
        {
            foreach (var r in replicas)
            {
                await r.DisposeAsync();
            }
        }
    }

    /// <summary>A config whose one schedule, <c>tick</c>, fires every half second, coordinated as given (catching up by policy <c>all</c> when asked).</summary>
    private static string TickConfig(string name, string prefix, string coordination, bool catchUpAll = false) => TempConfig.Write($$"""
        name: {{name}}
        subject_prefix: {{prefix}}
        coordination: {{coordination}}
        {{(catchUpAll ? "catch_up: {policy: all, window_seconds: 60}" : "")}}
        schedules:
          - name: tick
            interval_seconds: 0.5
            task: {worker_type: w}
        """);

    /// <summary>Once <paramref name="owner"/> has fired <c>tick</c>, pauses it over the control subject.</summary>
    private static async Task PauseTickAsync(Loomsched owner, string[] control)
    {
        await owner.WaitForLogAsync("fired tick", TimeSpan.FromSeconds(10));
        // No wait after the reply: it comes once the pause is recorded, and the callers kill or stop the owner at once.
        await ControlAsync("pause", control);
    }

    /// <summary>Checks that <paramref name="owner"/> took the recorded pause over and does not fire for a while.</summary>
    private static async Task KeptPausedAsync(Loomsched owner, TimeSpan watched)
    {
        await owner.WaitForLogAsync("coordination: tick is paused as the state bucket records", TimeSpan.FromSeconds(10));
        await Task.Delay(watched);
        Assert.DoesNotContain(owner.Stderr, l => l.Contains("fired tick", StringComparison.Ordinal));
    }

    private static async Task ResumedAsync(Loomsched owner, string[] control)
    {
        await ControlAsync("resume", control);
        await owner.WaitForLogAsync("fired tick", TimeSpan.FromSeconds(10));
    }

    private static async Task ControlAsync(string action, string[] control)
    {
        var (code, text, error) = await Loomsched.ExecAsync([action, "tick", .. control]);
        Assert.True(code == 0, text + error);
    }

    [Fact]
    public async Task A_pause_outlives_the_leader_that_took_it_until_the_next_leader_is_told_to_resume()
    {
        var prefix = TempConfig.UniqueName("hp");
        var config = TickConfig("hap", prefix,
            $"{{mode: leader, lease_bucket: {prefix}_lease, state_bucket: {prefix}_state, lease_ttl_seconds: 3}}");
        await using var captured = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        string[] control = ["--name", "hap", "--subject-prefix", prefix, "--nats-url", nats.Server.Url];
        await using (var set = Replicas.Start(config, nats.Server.Url, 2))
        {
            var replicas = set.All;
            var first = await Replicas.WaitForLeaderAsync(replicas, null, TimeSpan.FromSeconds(15));
            await PauseTickAsync(first, control);

            first.Signal(Signals.SIGKILL);
            var second = await Replicas.WaitForLeaderAsync(replicas, first, TimeSpan.FromSeconds(15));
            int sent = captured.Messages.Count;
            await KeptPausedAsync(second, TimeSpan.FromSeconds(2));
            Assert.Equal(sent, captured.Messages.Count);
            var status = await nats.Client.RequestAsync<byte[], byte[]>($"{prefix}.scheduler.hap", "{}"u8.ToArray(),
                requestSerializer: NatsRawSerializer<byte[]>.Default, replySerializer: NatsRawSerializer<byte[]>.Default);
            var tick = JsonDocument.Parse(status.Data!).RootElement.GetProperty("schedules").EnumerateArray()
                .Single(e => e.GetProperty("name").GetString() == "tick");
            Assert.True(tick.GetProperty("paused").GetBoolean());

            await ResumedAsync(second, control);
            await captured.WaitForAsync(sent + 2, TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task A_pause_outlives_a_restart_of_an_instance_with_state()
    {
        var prefix = TempConfig.UniqueName("hs");
        var config = TickConfig("hps", prefix, $"{{mode: state, state_bucket: {prefix}_state}}");
        string[] control = ["--name", "hps", "--subject-prefix", prefix, "--nats-url", nats.Server.Url];
        await using (var first = Loomsched.Run(config, nats.Server.Url))
        {
            await PauseTickAsync(first, control);
            Assert.Equal(0, (await first.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        }
        await using var second = Loomsched.Run(config, nats.Server.Url);
        await KeptPausedAsync(second, TimeSpan.FromSeconds(1.5));
        await ResumedAsync(second, control);
    }

    [Fact]
    public async Task A_new_leader_of_two_thousand_schedules_reads_the_state_of_every_one_within_its_budget()
    {
        // A 3 s lease leaves a take-over half a second to read the state bucket: two reads for each of 2,000
        // schedules, one after the other, did not fit in it, and the last schedules took over without their pause.
        const int Count = 2000;
        var prefix = TempConfig.UniqueName("hm");
        var yaml = new System.Text.StringBuilder($$"""
            name: hm
            subject_prefix: {{prefix}}
            coordination: {mode: leader, lease_bucket: {{prefix}}_lease, state_bucket: {{prefix}}_state, lease_ttl_seconds: 3}
            schedules:

            """);
        for (int i = 0; i < Count; i++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  - {{name: s{i}, interval_seconds: 3600, task: {{worker_type: w}}}}\n");
        }
        var config = TempConfig.Write(yaml.ToString());
        string last = $"s{Count - 1}";
        string[] control = ["--name", "hm", "--subject-prefix", prefix, "--nats-url", nats.Server.Url];
        await using (var first = Loomsched.Run(config, nats.Server.Url))
        {
            await first.WaitForLogAsync("leader: ", TimeSpan.FromSeconds(20));
            var (code, text, error) = await Loomsched.ExecAsync(["pause", last, .. control]);
            Assert.True(code == 0, text + error);
            Assert.Equal(0, (await first.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        }

        await using var second = Loomsched.Run(config, nats.Server.Url, "--log-level", "debug");
        await second.WaitForLogAsync($"coordination: {last} is paused as the state bucket records", TimeSpan.FromSeconds(20));
        await second.WaitForLogAsync($"coordination: the state of {Count} schedule(s) read in ", TimeSpan.FromSeconds(5));
        foreach (var line in second.Stderr.Where(l => l.Contains("coordination: the state", StringComparison.Ordinal)))
        {
            output.WriteLine(line);
        }
        Assert.DoesNotContain(second.Stderr, l => l.Contains("take over without it", StringComparison.Ordinal));
        Assert.Equal(0, (await second.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
    }

    [Fact]
    public async Task A_leader_whose_renew_the_lease_bucket_does_not_take_leads_on_and_renews_once_it_takes_writes_again()
    {
        var prefix = TempConfig.UniqueName("lr");
        var config = TickConfig("lr", prefix,
            $"{{mode: leader, lease_bucket: {prefix}_lease, state_bucket: {prefix}_state, lease_ttl_seconds: 3}}");
        var js = new NatsJSContext(nats.Client);
        await using var captured = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        await using (var set = Replicas.Start(config, nats.Server.Url, 2))
        {
            var replicas = set.All;
            var leader = await Replicas.WaitForLeaderAsync(replicas, null, TimeSpan.FromSeconds(15));
            await leader.WaitForLogAsync("fired tick", TimeSpan.FromSeconds(10));

            // The lease bucket's stream refuses every write (the holder's name is longer than 8 bytes) until one renew
            // has failed: an error of the bucket, not a compare-and-set another replica won. The next renew, a TTL/3
            // later, comes before the leader's own deadline (90 % of the TTL after its last successful renew).
            await using (await RefusedWrites.StartAsync(js, $"KV_{prefix}_lease", maxMsgSize: 8))
            {
                await leader.WaitForLogAsync("lease: the renew was not taken (", TimeSpan.FromSeconds(5));
            }
            var liftedAt = DateTimeOffset.UtcNow;
            // Past a whole TTL: a lease not renewed would have lapsed by then.
            await captured.WaitForAsync(1, TimeSpan.FromSeconds(10), m => Slot(m) > liftedAt.AddSeconds(3.5));

            foreach (var r in replicas)
            {
                Replicas.Print(output, r == leader ? "leader" : "follower", r);
            }
            Assert.DoesNotContain(leader.Stderr, l => l.Contains("follower: ", StringComparison.Ordinal));
            Assert.All(replicas.Where(r => r != leader),
                r => Assert.DoesNotContain(r.Stderr, l => l.Contains(" leader: ", StringComparison.Ordinal)));
            var slots = captured.Messages.Select(Slot).ToList();
            Assert.Equal(slots.Count, slots.Distinct().Count());
            Assert.Empty(CapturedSlots.Missing(slots, Half));
        }
    }

    [Fact]
    public async Task A_state_bucket_that_takes_no_writes_for_a_while_holds_the_slots_and_fires_each_once_it_takes_them_again()
    {
        var prefix = TempConfig.UniqueName("sw");
        var config = TickConfig("sw", prefix, $"{{mode: state, state_bucket: {prefix}_state}}", catchUpAll: true);
        var js = new NatsJSContext(nats.Client);
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await seen.WaitForAsync(2, TimeSpan.FromSeconds(10));

        // The bucket's stream refuses every write (a claim record is larger than 16 bytes): an error of the bucket,
        // not a compare-and-set another replica won, so the claim is undecided rather than lost.
        DateTimeOffset blockedAt;
        await using (await RefusedWrites.StartAsync(js, $"KV_{prefix}_state", maxMsgSize: 16))
        {
            blockedAt = DateTimeOffset.UtcNow;
            await daemon.WaitForLogAsync("is undecided (", TimeSpan.FromSeconds(5));
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.DoesNotContain(seen.Messages, m => Slot(m) > blockedAt.AddSeconds(1));
        }
        var liftedAt = DateTimeOffset.UtcNow;
        await seen.WaitForAsync(1, TimeSpan.FromSeconds(10), m => Slot(m) > liftedAt.AddSeconds(1));
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);

        var slots = seen.Messages.Select(Slot).ToList();
        output.WriteLine($"{slots.Count} slots; blocked for {(liftedAt - blockedAt).TotalSeconds:0.0} s");
        Replicas.Print(output, "daemon", daemon);
        Assert.Equal(slots.Count, slots.Distinct().Count());
        Assert.Empty(CapturedSlots.Missing(slots, Half));
        Assert.DoesNotContain(daemon.Stderr, l => l.Contains("compare-and-set lost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_restart_whose_state_reads_are_refused_for_a_while_waits_for_them_and_keeps_the_pause_and_the_catch_up()
    {
        await using var nats = await ReadRefusingServer.StartAsync();
        string url = nats.DaemonUrl;
        var prefix = TempConfig.UniqueName("sr");
        var config = TempConfig.Write($$"""
            name: sr
            subject_prefix: {{prefix}}
            coordination: {mode: state, state_bucket: {{prefix}}_state}
            catch_up: {policy: all, window_seconds: 60}
            schedules:
              - name: tick
                interval_seconds: 1
                task: {worker_type: w}
              - name: held
                interval_seconds: 1
                task: {worker_type: w}
            """);
        static bool Of(Received m, string schedule) => m.Header("Loom-Schedule") == schedule;
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        DateTimeOffset pausedAt;
        await using (var first = Loomsched.Run(config, url))
        {
            await first.WaitForLogAsync("fired held", TimeSpan.FromSeconds(10));
            var (code, text, error) = await Loomsched.ExecAsync(["pause", "held", "--name", "sr", "--subject-prefix", prefix, "--nats-url", url]);
            Assert.True(code == 0, text + error);
            pausedAt = DateTimeOffset.UtcNow;
            await seen.WaitForAsync(1, TimeSpan.FromSeconds(10), m => Of(m, "tick") && Slot(m) > pausedAt);
            Assert.Equal(0, (await first.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        }

        await nats.RefuseReadsAsync();
        await Task.Delay(TimeSpan.FromSeconds(2)); // slots pass while nothing runs
        await using var second = Loomsched.Run(config, url);
        await second.WaitForLogAsync("coordination: the state of tick could not be read (", TimeSpan.FromSeconds(15));
        await nats.AllowReadsAsync();
        var liftedAt = DateTimeOffset.UtcNow;
        await second.WaitForLogAsync("coordination: held is paused as the state bucket records", TimeSpan.FromSeconds(15));
        await seen.WaitForAsync(1, TimeSpan.FromSeconds(10), m => Of(m, "tick") && Slot(m) > liftedAt.AddSeconds(1));
        Assert.Equal(0, (await second.TerminateAsync(TimeSpan.FromSeconds(10))).Code);

        Replicas.Print(output, "restarted", second);
        var ticks = seen.Messages.Where(m => Of(m, "tick")).Select(Slot).ToList();
        foreach (var m in seen.Messages)
        {
            output.WriteLine($"{m.Header("Loom-Schedule")} {Slot(m):HH:mm:ss.fff} received {m.At:HH:mm:ss.fff}");
        }
        output.WriteLine($"tick: {ticks.Count} slots from {ticks.Min():HH:mm:ss} to {ticks.Max():HH:mm:ss}; reads refused until {liftedAt:HH:mm:ss.fff}");
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
        Assert.Empty(CapturedSlots.Missing(ticks, TimeSpan.FromSeconds(1)));
        Assert.DoesNotContain(seen.Messages, m => Of(m, "held") && Slot(m) > pausedAt);
        Assert.DoesNotContain(second.Stderr, l => l.Contains("take over without it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_new_leader_fires_the_slot_that_came_due_while_it_read_the_slot_state()
    {
        // Catch-up "skip": a slot that came due while the new leader read the state bucket is not caught up. It
        // waits at the gate for the take-over (it used to be refused as a follower's, and lost).
        await using var nats = await ReadRefusingServer.StartAsync();
        var prefix = TempConfig.UniqueName("le");
        var config = TickConfig("le", prefix,
            $"{{mode: leader, lease_bucket: {prefix}_lease, state_bucket: {prefix}_state, lease_ttl_seconds: 30}}");
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        await nats.RefuseReadsAsync();
        var startedAt = DateTimeOffset.UtcNow;
        await using var leader = Loomsched.Run(config, nats.DaemonUrl);
        await leader.WaitForLogAsync("coordination: the state of tick could not be read (", TimeSpan.FromSeconds(15));
        await nats.AllowReadsAsync();
        var liftedAt = DateTimeOffset.UtcNow;
        await leader.WaitForLogAsync(" leader: ", TimeSpan.FromSeconds(10));
        await seen.WaitForAsync(1, TimeSpan.FromSeconds(10), m => Slot(m) > liftedAt.AddSeconds(1));
        Assert.Equal(0, (await leader.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        Assert.Contains(leader.Stderr, l => l.EndsWith(" info lease released", StringComparison.Ordinal));

        Replicas.Print(output, "leader", leader);
        var slots = seen.Messages.Select(Slot).ToList();
        output.WriteLine($"started {startedAt:HH:mm:ss.fff}, reads refused until {liftedAt:HH:mm:ss.fff}; slots: {string.Join(", ", slots.Select(s => s.ToString("HH:mm:ss.f")))}");
        Assert.Equal(slots.Count, slots.Distinct().Count());
        Assert.Contains(slots, s => s > startedAt && s < liftedAt);
        Assert.DoesNotContain(leader.Stderr, l => l.Contains("take over without it", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("skip")]
    [InlineData("once")]
    [InlineData("all")]
    public async Task A_restarted_instance_with_state_catches_up_by_its_policy(string policy)
    {
        var prefix = TempConfig.UniqueName("cu");
        var config = TempConfig.Write($$"""
            name: cu
            subject_prefix: {{prefix}}
            coordination: {mode: state, state_bucket: {{prefix}}_state}
            catch_up: {policy: {{policy}}, window_seconds: 60}
            schedules:
              - name: every_second
                interval_seconds: 1
                task: {worker_type: w}
            """);
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        await using (var first = Loomsched.Run(config, nats.Server.Url))
        {
            await seen.WaitForAsync(2, TimeSpan.FromSeconds(10));
            Assert.Equal(0, (await first.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        }
        var lastBefore = seen.Messages.Select(Slot).Max();
        await Task.Delay(TimeSpan.FromSeconds(4.2)); // four slots pass while nothing runs
        var restartedAt = DateTimeOffset.UtcNow;
        await using var second = Loomsched.Run(config, nats.Server.Url);
        await seen.WaitForAsync(1, TimeSpan.FromSeconds(10), m => Slot(m) > restartedAt.AddSeconds(1));
        var status = await nats.Client.RequestAsync<byte[], byte[]>($"{prefix}.scheduler.cu", "{}"u8.ToArray(),
            requestSerializer: NatsRawSerializer<byte[]>.Default, replySerializer: NatsRawSerializer<byte[]>.Default);
        long missedCounted = JsonDocument.Parse(status.Data!).RootElement.GetProperty("schedules")[0].GetProperty("missed").GetInt64();
        Assert.Equal(0, (await second.TerminateAsync(TimeSpan.FromSeconds(10))).Code);

        var slots = seen.Messages.Select(Slot).ToList();
        Assert.Equal(slots.Count, slots.Distinct().Count());
        var gap = slots.Where(s => s > lastBefore && s <= restartedAt).Order().ToList();
        var missed = Enumerable.Range(1, (int)(restartedAt - lastBefore).TotalSeconds).Select(k => lastBefore.AddSeconds(k)).Where(s => s <= restartedAt).ToList();
        output.WriteLine($"{policy}: missed {missed.Count}, fired {gap.Count} of them");
        Assert.True(missed.Count >= 3, $"the test should leave at least three slots missed, left {missed.Count}");
        switch (policy)
        {
            case "skip":
                Assert.Empty(gap);
                break;
            case "once":
                Assert.Equal([missed[^1]], gap);
                break;
            default:
                Assert.Equal(missed, gap);
                break;
        }
        // The log says how many were missed and which fire; the status counts the rest missed, as after a stall.
        static string At(DateTimeOffset slot) => slot.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        string fired = gap.Count switch
        {
            0 => "0 of them",
            1 => $"1 of them ({At(gap[0])})",
            _ => $"{gap.Count} of them ({At(gap[0])} to {At(gap[^1])})",
        };
        Assert.Contains(second.Stderr, l => l.EndsWith(
            $" info catch-up every_second: {missed.Count} missed slot(s) from {At(missed[0])} to {At(missed[^1])}; catch_up {policy} fires {fired}, {missed.Count - gap.Count} counted missed",
            StringComparison.Ordinal));
        Assert.Equal(missed.Count - gap.Count, missedCounted);
    }
}
