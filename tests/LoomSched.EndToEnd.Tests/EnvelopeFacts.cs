using LoomSched.EndToEnd.Tests.Support;
using LoomSched.Tests.Shared;

namespace LoomSched.EndToEnd.Tests;

/// <summary>
/// <c>wire: envelope</c> on the published binary: every goal and task it sends (plain fires, a triggered fire, a
/// big fan-out) is a WireEnvelope that heddle's consumers accept, with the NATS headers as on the bare wire.
/// </summary>
[Collection("nats")]
public sealed class EnvelopeFacts(NatsFixture nats)
{
    [Fact]
    public async Task Every_goal_and_task_on_the_envelope_wire_is_accepted_by_heddles_consumer_check()
    {
        const int maps = 5_000; // past the first chunk of a fan-out, which helper threads build
        var prefix = TempConfig.UniqueName("heddle");
        var config = TempConfig.Write($$"""
            name: weaver
            subject_prefix: {{prefix}}
            wire: envelope
            schedules:
              - name: every_second
                interval_seconds: 1
                task: {worker_type: ticker, payload: {check: system_status}, model_tier: standard, priority: high}
              - name: cron_second
                cron: "* * * * * *"
                goal: {instruction: tick, context: {source: cron} }
              - name: on_demand
                interval_seconds: 86400
                goal: {instruction: "Summarize \"all\" <docs>", priority: critical}
              - name: per_shard
                interval_seconds: 86400
                task:
                  worker_type: sharder
                  payload: {source: fan}
                expand_from: range
                expand_args: {count: {{maps}}}
            """);
        await using var client = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with
        {
            Url = nats.Server.Url,
            SubPendingChannelCapacity = 4 * maps, // no message dropped by this subscriber while it parses
        });
        await client.ConnectAsync();
        await using var seen = await Captured.StartAsync(client, $"{prefix}.*.incoming");
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        foreach (var schedule in new[] { "on_demand", "per_shard" })
        {
            var (code, output, error) = await Loomsched.ExecAsync(
                "trigger", schedule, "--name", "weaver", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
            Assert.True(code == 0, output + error);
        }
        await seen.WaitForAsync(maps, TimeSpan.FromSeconds(30), m => m.Header("Loom-Schedule") == "per_shard");
        await seen.WaitForAsync(2, TimeSpan.FromSeconds(10), m => m.Header("Loom-Schedule") == "every_second");
        await seen.WaitForAsync(2, TimeSpan.FromSeconds(10), m => m.Header("Loom-Schedule") == "cron_second");
        await seen.WaitForAsync(1, TimeSpan.FromSeconds(10), m => m.Header("Loom-Schedule") == "on_demand");

        var messages = seen.Messages;
        foreach (var m in messages)
        {
            var problems = HeddleConsumer.Problems(System.Text.Encoding.UTF8.GetBytes(m.RawBody));
            Assert.True(problems.Count == 0, $"{m.Header("Loom-Schedule")}: {string.Join("; ", problems)}\n{m.RawBody}");
            Assert.Equal(m.Header("Loom-Scheduled-For"), m.Body.GetProperty("occurred_at").GetString());
            Assert.Equal($"loomsched/weaver", m.Body.GetProperty("origin").GetString());
            Assert.StartsWith($"weaver/{m.Header("Loom-Schedule")}/{m.Header("Loom-Scheduled-For")}/", m.Header("Nats-Msg-Id"));
            bool goal = m.Body.GetProperty("payload_type").GetString() == "core.OrchestratorGoal";
            Assert.Equal(goal ? $"{prefix}.goals.incoming" : $"{prefix}.tasks.incoming", m.Subject);
        }
        var shards = messages.Where(m => m.Header("Loom-Schedule") == "per_shard").ToList();
        Assert.Equal(Enumerable.Range(0, maps), shards.Select(m => m.Body.GetProperty("payload").GetProperty("input").GetProperty("index").GetInt32()).Order());
        Assert.All(shards, m => Assert.Equal("fan", m.Body.GetProperty("payload").GetProperty("input").GetProperty("source").GetString()));
        Assert.Equal(maps, shards.Select(m => m.Body.GetProperty("message_id").GetString()).Distinct().Count());
        var tick = messages.First(m => m.Header("Loom-Schedule") == "every_second").Body.GetProperty("payload");
        Assert.Equal(("standard", "high", "every_second"), (
            tick.GetProperty("model_tier").GetString(), tick.GetProperty("priority").GetString(),
            tick.GetProperty("metadata").GetProperty("scheduled_by").GetString()));
        var summary = messages.Single(m => m.Header("Loom-Schedule") == "on_demand").Body.GetProperty("payload");
        Assert.Equal("Summarize \"all\" <docs>", summary.GetProperty("instruction").GetString());
    }

    [Fact]
    public async Task Validate_notes_that_the_heddle_prefix_on_the_bare_wire_reaches_no_current_heddle_consumer()
    {
        var config = TempConfig.Write("""
            name: weaver
            subject_prefix: heddle
            schedules: []
            """);

        var (code, output, error) = await Loomsched.ExecAsync("validate", config);

        Assert.True(code == 0, output + error);
        Assert.Contains("scheduler.yaml:2:17: note: subject_prefix: subject_prefix heddle with wire bare: current heddle consumers accept only enveloped messages", output + error);
    }
}
