using System.Globalization;
using System.Text;
using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests;

/// <summary>Start, reload, shutdown and NATS coming and going, with the real binary and server.</summary>
[Collection("nats")]
public sealed class LifecycleFacts(NatsFixture nats)
{
    private Task<JsonElement> StatusAsync(string subject) => ControlRequest.SendAsync(nats.Client, subject, "{}");

    [Fact]
    public async Task Sigterm_stops_an_idle_daemon_with_exit_code_zero_within_two_seconds()
    {
        var config = TempConfig.Write("""
            name: idle
            subject_prefix: idle_test
            schedules:
              - name: daily
                cron: "@daily"
                goal: {instruction: report}
            """);
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        var (code, took) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);
        Assert.True(took < TimeSpan.FromSeconds(2), $"took {took.TotalMilliseconds} ms");
        Assert.Contains(daemon.Stderr, l => l.Contains("stopped: published=0 abandoned=0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_the_json_log_the_configs_notes_and_errors_are_json_lines_too()
    {
        // A task: section beside dispatch_type: goal is never used (as in Loom): a note when the config is loaded.
        await using (var daemon = Loomsched.Run(Repo.TestConfig("loom/task-beside-goal.yaml"), nats.Server.Url, "--log-format", "json"))
        {
            await daemon.WaitForLogAsync("nats connected");
            await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
            var lines = daemon.Stderr.Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement).ToList(); // each parses
            var note = Assert.Single(lines, l => l.GetProperty("message").GetString()!.Contains("is never used", StringComparison.Ordinal));
            Assert.Equal("warn", note.GetProperty("level").GetString());
            Assert.Contains("task-beside-goal.yaml:", note.GetProperty("message").GetString());
            Assert.Contains(": note: ", note.GetProperty("message").GetString());
        }

        var (code, output, error) = await Loomsched.ExecAsync(
            "run", "--config", Repo.TestConfig("invalid/bad-priority.yaml"), "--log-format", "json");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var errors = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(errors, e => Assert.Equal("error", e.GetProperty("level").GetString()));
        Assert.Contains(errors, e => e.GetProperty("message").GetString()!.Contains("unknown priority", StringComparison.Ordinal));
        Assert.EndsWith("1 error(s); not started", errors[^1].GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_second_standalone_daemon_of_the_same_name_warns_that_both_fire_every_schedule()
    {
        var prefix = TempConfig.UniqueName("twice");
        var (first, config) = await FirstOfTwinsAsync(prefix);
        await using var _ = first;

        await using var second = Loomsched.Run(config, nats.Server.Url);
        await second.WaitForLogAsync($"another scheduler named twice answers on {prefix}.scheduler.twice, started ");
        Assert.Contains(second.Stderr, l => l.Contains(" warn ", StringComparison.Ordinal) && l.Contains("both fire every schedule", StringComparison.Ordinal));
        Assert.DoesNotContain(first.Stderr, l => l.Contains("another scheduler", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_json_log_of_a_second_daemon_of_the_same_name_gives_the_first_ones_start_as_a_field()
    {
        var prefix = TempConfig.UniqueName("twicej");
        var (first, config) = await FirstOfTwinsAsync(prefix);
        await using var _ = first;

        await using var second = Loomsched.Run(config, nats.Server.Url, "--log-format", "json");
        await second.WaitForLogAsync("another scheduler named twice");
        using var line = System.Text.Json.JsonDocument.Parse(second.Stderr.First(l => l.Contains("another scheduler named twice", StringComparison.Ordinal)));

        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", line.RootElement.GetProperty("started").GetString());
        Assert.Equal($"{prefix}.scheduler.twice", line.RootElement.GetProperty("subject").GetString());
    }

    /// <summary>A daemon named "twice", running and answering on its control subject, and its config for a second one.</summary>
    private async Task<(Loomsched First, string Config)> FirstOfTwinsAsync(string prefix)
    {
        var config = TempConfig.Write($$"""
            name: twice
            subject_prefix: {{prefix}}
            schedules:
              - name: a
                interval_seconds: 3600
                task: {worker_type: w}
            """);
        var first = Loomsched.Run(config, nats.Server.Url);
        await first.WaitForLogAsync("nats connected");
        await StatusAsync($"{prefix}.scheduler.twice"); // the first answers on its control subject
        return (first, config);
    }

    [Fact]
    public async Task Sighup_reloads_a_daemon_started_under_nohup_which_ignores_it()
    {
        var prefix = TempConfig.UniqueName("nh");
        string Yaml(string name) => $$"""
            name: nohup
            subject_prefix: {{prefix}}
            schedules:
              - name: {{name}}
                interval_seconds: 3600
                task: {worker_type: w}
            """;
        var config = TempConfig.Write(Yaml("first"));
        // nohup starts the daemon with SIGHUP ignored, which the runtime would keep: a reload by signal did nothing.
        await using var daemon = Loomsched.Start(ChildProcess.Info("nohup", [Repo.Binary, "run", "--config", config, "--nats-url", nats.Server.Url]));
        await daemon.WaitForLogAsync("nats connected");

        await File.WriteAllTextAsync(config, Yaml("second"));
        daemon.Signal(Signals.SIGHUP);
        await daemon.WaitForLogAsync("reloaded: 1 added, 1 removed, 0 changed, 0 unchanged");
        var status = await StatusAsync($"{prefix}.scheduler.nohup");
        Assert.Equal("second", status.GetProperty("schedules")[0].GetProperty("name").GetString());
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
    }

    [Fact]
    public async Task Sighup_applies_a_valid_config_and_keeps_the_old_one_when_the_new_is_invalid()
    {
        var prefix = TempConfig.UniqueName("r");
        string Yaml(string extra) => $$"""
            name: reloading
            subject_prefix: {{prefix}}
            schedules:
              - name: kept
                interval_seconds: 3600
                task: {worker_type: w}
            {{extra}}
            """;
        var config = TempConfig.Write(Yaml(""));
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.reloading";
        var first = await StatusAsync(subject);
        var before = first.GetProperty("schedules")[0].GetProperty("next_fire").GetString();
        Assert.Equal(config, first.GetProperty("config").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("last_reload").ValueKind);

        await File.WriteAllTextAsync(config, Yaml("""
              - name: added
                interval_seconds: 1800
                task: {worker_type: w}
            """));
        daemon.Signal(Signals.SIGHUP);
        await daemon.WaitForLogAsync("reloaded: 1 added, 0 removed, 0 changed, 1 unchanged");
        var reloaded = await StatusAsync(subject);
        var after = reloaded.GetProperty("schedules");
        Assert.Equal(["kept", "added"], after.EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(before, after[0].GetProperty("next_fire").GetString());
        Assert.True(reloaded.GetProperty("last_reload").GetProperty("ok").GetBoolean());
        Assert.Contains("1 added", reloaded.GetProperty("last_reload").GetProperty("result").GetString());

        await File.WriteAllTextAsync(config, Yaml("""
              - name: broken
                interval_seconds: -5
                task: {worker_type: w}
            """));
        daemon.Signal(Signals.SIGHUP);
        await daemon.WaitForLogAsync("reload rejected");
        Assert.Contains(daemon.Stderr, l => l.Contains("schedules[1].interval_seconds", StringComparison.Ordinal));
        var rejected = await StatusAsync(subject);
        var still = rejected.GetProperty("schedules");
        Assert.Equal(["kept", "added"], still.EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        // A SIGHUP has no one to answer: status says the last reload was refused, and why.
        var lastReload = rejected.GetProperty("last_reload");
        Assert.False(lastReload.GetProperty("ok").GetBoolean());
        Assert.Contains("the running schedules are unchanged", lastReload.GetProperty("result").GetString());
        Assert.Contains(lastReload.GetProperty("errors").EnumerateArray(), e => e.GetString()!.Contains("schedules[1].interval_seconds", StringComparison.Ordinal));
        Assert.True(DateTimeOffset.Parse(lastReload.GetProperty("at").GetString()!, CultureInfo.InvariantCulture)
            > DateTimeOffset.Parse(reloaded.GetProperty("last_reload").GetProperty("at").GetString()!, CultureInfo.InvariantCulture));
        Assert.False(daemon.HasExited);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(10)]
    [InlineData(20)]
    public async Task Sighups_while_the_daemon_starts_do_not_end_it_and_make_one_reload_once_it_is_ready(int afterMs)
    {
        // Thousands of schedules make the start last well past the signals: they all come before the daemon is ready.
        var prefix = TempConfig.UniqueName("hs");
        var config = TempConfig.Write($"name: early\nsubject_prefix: {prefix}\nschedules:\n"
            + string.Concat(Enumerable.Range(0, 2_000).Select(i => $"  - {{name: s{i}, cron: \"0 3 * * *\", task: {{worker_type: w}}}}\n")));
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        // From the moment the runtime's own start hands over to loomsched, which takes SIGHUP first of all.
        await daemon.WaitUntilItCatchesAsync(Signals.SIGHUP);
        if (afterMs > 0)
        {
            await Task.Delay(afterMs);
        }
        daemon.Signal(Signals.SIGHUP);
        daemon.Signal(Signals.SIGHUP);
        daemon.Signal(Signals.SIGHUP);

        await daemon.WaitForLogAsync("reloaded: 0 added, 0 removed, 0 changed, 2000 unchanged", TimeSpan.FromSeconds(30));
        await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(30));
        var status = await StatusAsync($"{prefix}.scheduler.early");
        Assert.Equal(2_000, status.GetProperty("schedules").GetArrayLength());
        Assert.True(status.GetProperty("last_reload").GetProperty("ok").GetBoolean());
        Assert.Single(daemon.Stderr, l => l.Contains("info reload requested during start-up: reloading now", StringComparison.Ordinal));
        Assert.Single(daemon.Stderr, l => l.Contains("reloaded: ", StringComparison.Ordinal));
        Assert.False(daemon.HasExited);
    }

    [Fact]
    public async Task A_config_that_became_a_fifo_refuses_its_reload_and_later_reloads_and_the_stop_still_work()
    {
        var prefix = TempConfig.UniqueName("ff");
        string Yaml(string name) => $"name: fifo\nsubject_prefix: {prefix}\nschedules:\n  - name: {name}\n    interval_seconds: 3600\n    task: {{worker_type: w}}\n";
        var config = TempConfig.Write(Yaml("first"));
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");

        // Opening a FIFO with no writer never returns: it held this reload, every later one and the stop for good.
        File.Delete(config);
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", config))
        {
            await mkfifo.WaitForExitAsync();
        }
        daemon.Signal(Signals.SIGHUP);
        await daemon.WaitForLogAsync("could not be read within 10 s", TimeSpan.FromSeconds(30));

        File.Delete(config);
        await File.WriteAllTextAsync(config, Yaml("second"));
        daemon.Signal(Signals.SIGHUP);
        await daemon.WaitForLogAsync("reloaded: 1 added, 1 removed");
        var (code, took) = await daemon.TerminateAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, code);
        Assert.InRange(took.TotalSeconds, 0, 10);
    }

    [Fact]
    public async Task A_reload_refused_for_thousands_of_errors_lists_the_first_twenty_in_its_reply_and_the_status()
    {
        var prefix = TempConfig.UniqueName("rl");
        string Yaml(int broken) => $"name: many\nsubject_prefix: {prefix}\nschedules:\n  - name: kept\n    interval_seconds: 3600\n    task: {{worker_type: w}}\n"
            + string.Concat(Enumerable.Range(0, broken).Select(i => $"  - name: s{i}\n    interval_seconds: -1\n    task: {{worker_type: w}}\n"));
        var config = TempConfig.Write(Yaml(0));
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.many";

        // Every error whole, each about a hundred bytes, made a reply and a status over NATS's megabyte: neither went.
        await File.WriteAllTextAsync(config, Yaml(12_000));
        var reply = await ControlRequest.SendAsync(nats.Client, subject, """{"action":"reload"}""");
        var status = await StatusAsync(subject);

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Contains("has 12000 error(s)", reply.GetProperty("error").GetString(), StringComparison.Ordinal);
        foreach (var errors in new[] { reply.GetProperty("errors"), status.GetProperty("last_reload").GetProperty("errors") })
        {
            var listed = errors.EnumerateArray().Select(e => e.GetString()!).ToList();
            Assert.Equal(21, listed.Count);
            Assert.Contains("schedules[1].interval_seconds", listed[0], StringComparison.Ordinal);
            Assert.Equal("and 11,980 more", listed[^1]);
        }
        Assert.Equal(["kept"], status.GetProperty("schedules").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        await daemon.WaitForLogAsync("reload rejected");
        Assert.Equal(12_000, daemon.Stderr.Count(l => l.Contains("error reload: ", StringComparison.Ordinal))); // the log has them all
    }

    [Fact]
    public async Task Daemon_started_before_nats_waits_then_fires_once_a_server_appears()
    {
        await using var late = await NatsServer.StartAsync();
        await late.StopAsync();
        var config = TempConfig.Write("""
            name: patient
            subject_prefix: patient
            schedules:
              - name: tick
                interval_seconds: 0.5
                task: {worker_type: w}
            """);
        await using var daemon = Loomsched.Run(config, late.Url);
        await Task.Delay(1500);
        Assert.False(daemon.HasExited, "the daemon must not exit because NATS is away");

        await late.RestartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = late.Url });
        await using var seen = await Captured.StartAsync(client, "patient.tasks.incoming");
        await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(15));
        await seen.WaitForAsync(2, TimeSpan.FromSeconds(10));
    }
}
