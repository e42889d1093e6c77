using System.Diagnostics;
using System.Text;
using LoomSched.EndToEnd.Tests.Reliability.Support;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Reliability;

/// <summary>Reload through the control subject and Loom's broadcast, and what a reload does to running schedules.</summary>
[Collection("reliability")]
public sealed class ReloadFacts : IAsyncLifetime
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);
    private NatsServer _server = null!;
    private NatsConnection _client = null!;

    public async Task InitializeAsync()
    {
        _server = await NatsServer.StartAsync();
        _client = new NatsConnection(NatsOpts.Default with { Url = _server.Url });
        await _client.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    private static string Yaml(string prefix, params string[] entries) => $"""
        name: rl
        subject_prefix: {prefix}
        schedules:
        {string.Join('\n', entries)}
        """;

    private const string Slow = """
          - name: slow
            interval_seconds: 3600
            task: {worker_type: w}
        """;

    private const string Added = """
          - name: added
            cron: "@daily"
            goal: {instruction: report}
        """;

    // As editors save: a new file renamed over the old one, so a reload never reads a half-written file. (A reload
    // signalled earlier may run late, while the next version is being written.)
    private static async Task ReplaceAsync(string path, string text)
    {
        string next = path + ".next";
        await File.WriteAllTextAsync(next, text);
        File.Move(next, path, overwrite: true);
    }

    private static List<string?> Names(System.Text.Json.JsonElement status) =>
        [.. status.GetProperty("schedules").EnumerateArray().Select(s => s.GetProperty("name").GetString())];

    [Fact]
    public async Task Reload_action_on_the_control_subject_applies_the_new_file_and_replies_with_what_changed()
    {
        var prefix = TempConfig.UniqueName("rc");
        var config = TempConfig.Write(Yaml(prefix, Slow));
        await using var daemon = Loomsched.Run(config, _server.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.rl";
        var before = Control.Schedule(await Control.StatusAsync(_client, subject), "slow").GetProperty("next_fire").GetString();

        await ReplaceAsync(config, Yaml(prefix, Slow, Added));
        var reply = await Control.RequestAsync(_client, subject, """{"action":"reload"}""");

        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.GetRawText());
        Assert.Contains("1 added, 0 removed, 0 changed, 1 unchanged", reply.GetRawText());
        var status = await Control.StatusAsync(_client, subject);
        Assert.Equal(["slow", "added"], Names(status));
        Assert.Equal(before, Control.Schedule(status, "slow").GetProperty("next_fire").GetString());

        await ReplaceAsync(config, Yaml(prefix, Slow, "  - name: broken\n    cron: \"99 * * * *\"\n    goal: {instruction: x}"));
        var refused = await Control.RequestAsync(_client, subject, """{"action":"reload"}""");
        Assert.False(refused.GetProperty("ok").GetBoolean());
        Assert.Contains("schedules[1].cron", refused.GetRawText());
        Assert.Equal(["slow", "added"], Names(await Control.StatusAsync(_client, subject)));
    }

    [Fact]
    public async Task Reload_that_changes_a_setting_fixed_at_start_applies_the_schedules_and_says_the_setting_waits_for_a_restart()
    {
        var prefix = TempConfig.UniqueName("rs");
        var config = TempConfig.Write(Yaml(prefix, Slow));
        await using var daemon = Loomsched.Run(config, _server.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.rl";

        await ReplaceAsync(config, "max_pending: 5\npublish: jetstream\n" + Yaml(prefix, Slow, Added));
        var reply = await Control.RequestAsync(_client, subject, """{"action":"reload"}""");

        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.GetRawText());
        Assert.Contains("max_pending, publish changed, in effect after a restart", reply.GetRawText());
        await daemon.WaitForLogAsync("warn reload: max_pending, publish changed; the running daemon keeps the old value until it restarts");
        var status = await Control.StatusAsync(_client, subject);
        Assert.Equal(["slow", "added"], Names(status));
        Assert.Equal(10_000, status.GetProperty("max_pending").GetInt64());
        Assert.Equal("core", status.GetProperty("publish").GetString());
    }

    [Fact]
    public async Task Loom_reload_broadcast_reloads_whether_or_not_it_asks_for_a_reply()
    {
        var prefix = TempConfig.UniqueName("rb");
        var config = TempConfig.Write(Yaml(prefix, Slow));
        await using var daemon = Loomsched.Run(config, _server.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.rl";
        await Control.StatusAsync(_client, subject); // both subscriptions are live once the control one answers

        await ReplaceAsync(config, Yaml(prefix, Slow, Added));
        var reply = await Control.RequestAsync(_client, $"{prefix}.control.reload", """{"action": "reload"}""");
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.GetRawText());
        Assert.Equal(["slow", "added"], Names(await Control.StatusAsync(_client, subject)));

        // Loom publishes the broadcast without a reply subject; anything that is not a reload is ignored.
        await _client.PublishAsync($"{prefix}.control.reload", Encoding.UTF8.GetBytes("""{"action":"status"}"""));
        await ReplaceAsync(config, Yaml(prefix, Added));
        await _client.PublishAsync($"{prefix}.control.reload", Encoding.UTF8.GetBytes("""{"action":"reload"}"""));
        await daemon.WaitForLogAsync("reloaded: 0 added, 1 removed, 0 changed, 1 unchanged");
        Assert.Equal(["added"], Names(await Control.StatusAsync(_client, subject)));
        Assert.Equal(2, daemon.Stderr.Count(l => l.Contains("reloaded:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Removed_schedule_stops_firing_and_the_unchanged_one_keeps_its_grid()
    {
        var prefix = TempConfig.UniqueName("rr");
        const string kept = """
              - name: kept
                interval_seconds: 0.2
                task: {worker_type: w}
            """;
        const string gone = """
              - name: gone
                interval_seconds: 0.2
                task: {worker_type: w}
            """;
        var config = TempConfig.Write(Yaml(prefix, kept, gone));
        await using var seen = await Recorder.StartAsync(_server.Url, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(config, _server.Url);
        await seen.WaitForAsync(3, TimeSpan.FromSeconds(15), "gone");

        await ReplaceAsync(config, Yaml(prefix, kept));
        var reply = await Control.RequestAsync(_client, $"{prefix}.scheduler.rl", """{"action":"reload"}""");
        var reloadedAt = DateTimeOffset.UtcNow;
        Assert.Contains("0 added, 1 removed, 0 changed, 1 unchanged", reply.GetRawText());
        await Task.Delay(Tick * 8);

        // No slot of the removed schedule after the reload (a fire already running may still finish: its slot is earlier).
        Assert.DoesNotContain(seen.Of("gone"), m => m.SlotTime > reloadedAt);
        Assert.DoesNotContain(seen.Of("gone"), m => m.At > reloadedAt + TimeSpan.FromSeconds(1));
        var keptSlots = Slots.Indexes(seen.Of("kept"), Tick);
        Assert.True(keptSlots.SequenceEqual(Enumerable.Range(0, keptSlots.Count).Select(i => (long)i)), Slots.Describe(keptSlots));
        Assert.True(keptSlots.Count >= 8, Slots.Describe(keptSlots));
    }

    [Fact]
    public async Task Reloads_during_fires_neither_lose_nor_duplicate_a_slot()
    {
        var prefix = TempConfig.UniqueName("rd");
        const string steady = """
              - name: steady
                interval_seconds: 0.2
                task: {worker_type: w}
            """;
        string Changing(int version) => $$$"""
              - name: changing
                interval_seconds: 0.2
                task: {worker_type: w, payload: {version: {{{version}}}}}
            """;
        var config = TempConfig.Write(Yaml(prefix, steady, Changing(0)));
        await using var seen = await Recorder.StartAsync(_server.Url, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(config, _server.Url);
        var first = (await seen.WaitForAsync(2, TimeSpan.FromSeconds(15), "steady"))[0].SlotTime;

        // Twelve reloads, each landing at a different point of a slot: just before it, on it, just after it.
        var offsets = new[] { -4, -1, 0, 1, 3, 10, 50, 100, 150, 190, 198, 0 };
        var reloads = new List<DateTimeOffset>();
        for (int i = 0; i < offsets.Length; i++)
        {
            var slot = first + Tick * (4 + (2 * i));
            var wait = slot + TimeSpan.FromMilliseconds(offsets[i]) - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
            // Every other reload changes "changing" (a new definition with a new grid); "steady" never changes.
            await ReplaceAsync(config, Yaml(prefix, steady, Changing(i / 2)));
            daemon.Signal(Signals.SIGHUP);
            reloads.Add(DateTimeOffset.UtcNow);
            // Signals of one kind do not queue: on a loaded machine two close SIGHUPs would be one. Each reload is
            // seen done before the next signal.
            await OutageFacts.WaitForLogCountAsync(daemon, "reloaded:", i + 1, TimeSpan.FromSeconds(20));
        }
        await Task.Delay(Tick * 3);
        var end = DateTimeOffset.UtcNow;
        await seen.SettleAsync(TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(5));

        // The unchanged schedule: every slot of its grid exactly once, from the first to the end.
        var steadySlots = Slots.Indexes(seen.Of("steady"), Tick);
        Assert.True(steadySlots.SequenceEqual(Enumerable.Range(0, steadySlots.Count).Select(i => (long)i)), Slots.Describe(steadySlots));
        Assert.True(steadySlots.Count >= (end - first) / Tick - 2, $"{steadySlots.Count} slots in {(end - first).TotalSeconds:0.0} s");

        // The changed one restarts on a new grid at each change: never a slot twice, never two fires closer than
        // an interval, and never a silence longer than two intervals (the old grid's last slot, then the new one's first).
        var changing = seen.Of("changing").Select(m => m.SlotTime).ToList();
        Assert.Equal(changing.Count, changing.Distinct().Count());
        Assert.True(changing.SequenceEqual(changing.Order()), "slots out of order");
        var gaps = changing.Zip(changing.Skip(1), (a, b) => b - a).ToList();
        Assert.All(gaps, g => Assert.InRange(g.TotalMilliseconds, Tick.TotalMilliseconds - 1, (2 * Tick.TotalMilliseconds) + 1));
        Assert.True(gaps.Count(g => g != Tick) >= 4, "the changed schedule never restarted on a new grid");
    }
}
