using System.Globalization;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests.HighAvailability;

/// <summary>Two replicas in leader mode on one bucket of run-time schedules.</summary>
[Collection("nats")]
public sealed class RuntimeScheduleReplicaFacts(NatsFixture nats)
{
    private static DateTimeOffset Slot(Received m) =>
        DateTimeOffset.Parse(m.Header("Loom-Scheduled-For")!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    [Fact]
    public async Task Two_replicas_in_leader_mode_see_one_set_and_fire_each_slot_of_it_once()
    {
        var prefix = TempConfig.UniqueName("hr");
        var config = TempConfig.Write($$"""
            name: hr
            subject_prefix: {{prefix}}
            coordination: {mode: leader, lease_bucket: {{prefix}}_lease, state_bucket: {{prefix}}_state, lease_ttl_seconds: 3}
            runtime_schedules: {bucket: {{prefix}}_s}
            control: {actions: [status, list, get, create, update, delete]}
            schedules: []
            """);
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        await using var set = Replicas.Start(config, nats.Server.Url, 2);
        foreach (var r in set.All)
        {
            await r.WaitForLogAsync("runtime schedules: loaded bucket", TimeSpan.FromSeconds(15));
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!set.All.Any(r => r.Stderr.Any(l => l.Contains(" leader: ", StringComparison.Ordinal))))
        {
            Assert.True(DateTime.UtcNow < deadline, "no replica became leader:\n" + string.Join("\n---\n", set.All.Select(r => r.Log)));
            await Task.Delay(50);
        }
        await Task.Delay(TimeSpan.FromSeconds(1)); // the election settles: the follower refuses writes

        string entry = Path.Combine(Directory.CreateTempSubdirectory("loomsched-entry-").FullName, "tick.json");
        await File.WriteAllTextAsync(entry, """{"name": "tick", "interval_seconds": 0.5, "task": {"worker_type": "hr_probe"}}""");
        var created = await Loomsched.ExecAsync("schedule", "create", entry, "--name", "hr", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
        Assert.True(created.Code == 0, created.Out + created.Err);

        foreach (var r in set.All)
        {
            await r.WaitForLogAsync("reloaded: 1 added, 0 removed", TimeSpan.FromSeconds(5));
        }
        await Task.Delay(TimeSpan.FromSeconds(3));
        var deleted = await Loomsched.ExecAsync("schedule", "delete", "tick", "--name", "hr", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
        Assert.True(deleted.Code == 0, deleted.Out + deleted.Err);
        foreach (var r in set.All)
        {
            await r.WaitForLogAsync("runtime schedule tick deleted", TimeSpan.FromSeconds(5));
        }

        var ticks = seen.Messages.Where(m => m.Header("Loom-Schedule") == "tick").ToList();
        Assert.True(ticks.Count >= 4, $"only {ticks.Count} messages of tick");
        Assert.Equal(ticks.Count, ticks.Select(Slot).Distinct().Count());
    }
}
