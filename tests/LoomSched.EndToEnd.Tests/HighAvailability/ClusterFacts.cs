using System.Globalization;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using Xunit.Abstractions;

namespace LoomSched.EndToEnd.Tests.HighAvailability;

/// <summary>Two replicas on a three-node JetStream cluster with R3 buckets, losing one NATS node.</summary>
public sealed class ClusterFacts(ITestOutputHelper output)
{
    private static readonly TimeSpan Half = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task Losing_one_nats_node_neither_loses_nor_doubles_a_slot_and_scheduling_goes_on()
    {
        await using var cluster = await NatsCluster.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = cluster.UrlOf(0) });
        await client.ConnectAsync();
        var js = new NatsJSContext(client);
        var kv = new NatsKVContext(js);

        // JetStream needs its meta leader before streams can be made: retry until the cluster is ready.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await kv.CreateStoreAsync(new NatsKVConfig("cl_lease") { History = 1, MaxAge = TimeSpan.FromSeconds(3), NumberOfReplicas = 3 });
                await kv.CreateStoreAsync(new NatsKVConfig("cl_state") { History = 1, NumberOfReplicas = 3 });
                await js.CreateStreamAsync(new StreamConfig("CL_TASKS", ["cl.tasks.incoming"]) { NumReplicas = 3, DuplicateWindow = TimeSpan.FromMinutes(5) });
                break;
            }
            catch (Exception ex) when (ex is NatsJSException or NatsException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }

        var config = TempConfig.Write("""
            name: cl
            subject_prefix: cl
            publish: jetstream
            coordination: {mode: leader, lease_bucket: cl_lease, state_bucket: cl_state, lease_ttl_seconds: 3}
            catch_up: {policy: all, window_seconds: 120}
            schedules:
              - name: half_second
                interval_seconds: 0.5
                task: {worker_type: cluster_probe}
            """);
        // Each replica is given one node; the client learns the others from the cluster, so after its node dies
        // the leader either reconnects in time and keeps its lease, or loses it to the other replica.
        await using var a = Loomsched.Run(config, cluster.UrlOf(1));
        await using var b = Loomsched.Run(config, cluster.UrlOf(2));
        await Task.Delay(TimeSpan.FromSeconds(8));
        bool aLeads = a.Stderr.Any(l => l.Contains(" leader: ", StringComparison.Ordinal));
        int victim = aLeads ? 1 : 2;
        // The capture stream stands in for Loom's consumers. Keep its leader off the node that dies, so that what is
        // measured is loomsched's survival (its KV buckets' leaders may well be there).
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var stream = await js.GetStreamAsync("CL_TASKS");
            if (stream.Info.Cluster?.Leader is { } leader && leader != $"n{victim}")
            {
                break;
            }
            await client.RequestAsync<byte[], byte[]>("$JS.API.STREAM.LEADER.STEPDOWN.CL_TASKS", [],
                requestSerializer: NatsRawSerializer<byte[]>.Default, replySerializer: NatsRawSerializer<byte[]>.Default);
            await Task.Delay(500);
        }
        var killedAt = DateTimeOffset.UtcNow;
        await cluster.KillAsync(victim);
        output.WriteLine($"killed the node of replica {(aLeads ? "a" : "b")}, the leader");
        await Task.Delay(TimeSpan.FromSeconds(14));
        foreach (var r in new[] { a, b })
        {
            Assert.Equal(0, (await r.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        }

        var slots = await CapturedSlots.ReadAsync(js, "CL_TASKS");
        output.WriteLine($"{slots.Count} slots captured in the R3 stream");
        Replicas.Print(output, "a", a);
        Replicas.Print(output, "b", b);
        Assert.True(slots.Count >= 25, $"only {slots.Count} slots");
        var ordered = slots.Order().ToList();
        Assert.Equal(ordered.Count, ordered.Distinct().Count());
        // Every slot from the first to the last is in the R3 stream exactly once: publish: jetstream counts a message
        // sent only once the stream stored it; a claim the state bucket leaves unanswered (its replicas electing a
        // leader) is tried again while the slots behind it wait (catch_up: all); a compare-and-set refused against a
        // stale view is tried again against the stream leader's.
        var missing = CapturedSlots.Missing(ordered, Half);
        output.WriteLine($"missing ({missing.Count}): {string.Join(", ", missing.Select(m => m.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)))}");
        Assert.Empty(missing);
        Assert.True(ordered[^1] > killedAt.AddSeconds(8), "scheduling stopped after the node was lost");
    }
}
