using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests;

/// <summary>The published binary against a real nats-server: what Loom's consumers receive, and when.</summary>
[Collection("nats-timing")]
public sealed partial class FiringFacts(NatsFixture nats, Xunit.Abstractions.ITestOutputHelper output)
{
    // Generous on purpose: CI is a loaded 2-core machine. Precise lateness is the benchmarks' business.
    private static readonly TimeSpan OnTime = TimeSpan.FromMilliseconds(250);

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    private static partial Regex UuidV4();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")]
    private static partial Regex LoomTimestamp();

    private static DateTimeOffset ParseSlot(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    [Fact]
    public async Task Interval_and_six_field_cron_schedules_fire_on_time()
    {
        var prefix = TempConfig.UniqueName("t");
        var config = TempConfig.Write($$"""
            name: timing
            subject_prefix: {{prefix}}
            schedules:
              - name: every_second
                interval_seconds: 1
                task: {worker_type: ticker}
              - name: cron_second
                cron: "* * * * * *"
                goal: {instruction: tick}
            """);
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.>");
        await using var daemon = Loomsched.Run(config, nats.Server.Url);

        // Four of each; the first fire after start also pays for the connection's first use on a busy machine,
        // so the bound is asserted on the three after it.
        var interval = (await seen.WaitForAsync(4, TimeSpan.FromSeconds(15), m => m.Header("Loom-Schedule") == "every_second")).Skip(1).Take(3).ToList();
        var cron = (await seen.WaitForAsync(4, TimeSpan.FromSeconds(15), m => m.Header("Loom-Schedule") == "cron_second")).Skip(1).Take(3).ToList();
        foreach (var m in seen.Messages.Where(m => m.Header("Loom-Scheduled-For") is not null)) // not the control requests
        {
            output.WriteLine($"{m.Header("Loom-Schedule")} slot {m.Header("Loom-Scheduled-For")} received {(m.At - ParseSlot(m.Header("Loom-Scheduled-For")!)).TotalMilliseconds:0.0} ms after");
        }
        output.WriteLine(string.Join('\n', daemon.Stderr));

        foreach (var m in interval.Concat(cron))
        {
            var late = m.At - ParseSlot(m.Header("Loom-Scheduled-For")!);
            Assert.True(late >= TimeSpan.FromMilliseconds(-5) && late < OnTime, $"{m.Header("Loom-Schedule")} arrived {late.TotalMilliseconds} ms after its slot");
        }
        // Intervals are a fixed grid: consecutive slots exactly one second apart.
        var slots = interval.Select(m => ParseSlot(m.Header("Loom-Scheduled-For")!)).ToList();
        Assert.Equal(TimeSpan.FromSeconds(1), slots[1] - slots[0]);
        Assert.Equal(TimeSpan.FromSeconds(1), slots[2] - slots[1]);
        // Cron slots fall on whole seconds.
        Assert.All(cron, m => Assert.DoesNotContain(".", m.Header("Loom-Scheduled-For")));
    }

    [Fact]
    public async Task Schedule_names_beyond_ascii_go_into_the_headers_as_utf8_so_their_message_ids_differ()
    {
        var prefix = TempConfig.UniqueName("u");
        var config = TempConfig.Write($$"""
            name: unicode
            subject_prefix: {{prefix}}
            schedules:
              - name: café
                interval_seconds: 86400
                goal: {instruction: a}
              - name: cafè
                interval_seconds: 86400
                goal: {instruction: b}
            """);
        // A consumer that reads headers as UTF-8, as nats-py and nats.go do.
        await using var client = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with
        {
            Url = nats.Server.Url,
            HeaderEncoding = System.Text.Encoding.UTF8,
        });
        await using var seen = await Captured.StartAsync(client, $"{prefix}.goals.>");
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        foreach (var schedule in new[] { "café", "cafè" })
        {
            var (code, stdout, stderr) = await Loomsched.ExecAsync("trigger", schedule, "--name", "unicode", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
            Assert.True(code == 0, stdout + stderr);
        }

        var messages = await seen.WaitForAsync(2, TimeSpan.FromSeconds(10));
        Assert.Equal(["cafè", "café"], messages.Select(m => m.Header("Loom-Schedule")).Order(StringComparer.Ordinal)); // U+00E8 before U+00E9
        foreach (var m in messages)
        {
            Assert.Equal($"unicode/{m.Header("Loom-Schedule")}/{m.Header("Loom-Scheduled-For")}/0", m.Header("Nats-Msg-Id"));
        }
    }

    [Fact]
    public async Task Loom_example_config_publishes_the_goal_and_task_Loom_expects()
    {
        await using var seen = await Captured.StartAsync(nats.Client, "loom.>");
        var name = "default_scheduler";
        await using var daemon = Loomsched.Run(Repo.Config("loom.example.yaml"), nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");

        foreach (var schedule in new[] { "hourly_summarize", "every_5m_healthcheck" })
        {
            var (code, output, _) = await Loomsched.ExecAsync("trigger", schedule, "--name", name, "--nats-url", nats.Server.Url);
            Assert.True(code == 0, output);
        }
        var goal = (await seen.WaitForAsync(1, TimeSpan.FromSeconds(10), m => m.Subject == "loom.goals.incoming")).Single();
        var task = (await seen.WaitForAsync(1, TimeSpan.FromSeconds(10), m => m.Subject == "loom.tasks.incoming")).Single();

        Assert.Equal(["goal_id", "instruction", "context", "request_id", "priority", "created_at"],
            goal.Body.EnumerateObject().Select(p => p.Name));
        Assert.Matches(UuidV4(), goal.Body.GetProperty("goal_id").GetString());
        Assert.Equal("Summarize all new documents from the last hour", goal.Body.GetProperty("instruction").GetString());
        Assert.Equal("""{"source":"incoming_docs"}""", goal.Body.GetProperty("context").GetRawText());
        Assert.Equal(JsonValueKind.Null, goal.Body.GetProperty("request_id").ValueKind);
        Assert.Equal("normal", goal.Body.GetProperty("priority").GetString());
        Assert.Matches(LoomTimestamp(), goal.Body.GetProperty("created_at").GetString());

        Assert.Equal(["task_id", "parent_task_id", "worker_type", "payload", "model_tier", "priority", "created_at", "request_id", "metadata"],
            task.Body.EnumerateObject().Select(p => p.Name));
        Assert.Matches(UuidV4(), task.Body.GetProperty("task_id").GetString());
        Assert.Equal(JsonValueKind.Null, task.Body.GetProperty("parent_task_id").ValueKind);
        Assert.Equal("health_checker", task.Body.GetProperty("worker_type").GetString());
        Assert.Equal("""{"check":"system_status"}""", task.Body.GetProperty("payload").GetRawText());
        Assert.Equal("local", task.Body.GetProperty("model_tier").GetString());
        Assert.Equal("low", task.Body.GetProperty("priority").GetString());
        Assert.Matches(LoomTimestamp(), task.Body.GetProperty("created_at").GetString());
        Assert.Equal(JsonValueKind.Null, task.Body.GetProperty("request_id").ValueKind);
        var metadata = task.Body.GetProperty("metadata");
        Assert.Equal("every_5m_healthcheck", metadata.GetProperty("scheduled_by").GetString());
        Assert.Equal(task.Header("Loom-Scheduled-For"), metadata.GetProperty("scheduled_for").GetString());

        foreach (var m in new[] { goal, task })
        {
            var schedule = m.Header("Loom-Schedule")!;
            var slot = m.Header("Loom-Scheduled-For")!;
            Assert.Matches(LoomTimestamp(), slot);
            Assert.Equal($"{name}/{schedule}/{slot}/0", m.Header("Nats-Msg-Id"));
        }
        Assert.Equal("hourly_summarize", goal.Header("Loom-Schedule"));
    }
}
