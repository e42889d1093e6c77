using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests;

/// <summary>The control subject and the CLI commands that use it, against the running binary.</summary>
[Collection("nats")]
public sealed class ControlFacts(NatsFixture nats)
{
    private Task<JsonElement> RequestAsync(string subject, string body) => ControlRequest.SendAsync(nats.Client, subject, body);

    private static string Config(string prefix, string extra = "") => TempConfig.Write($$"""
        name: ctl
        subject_prefix: {{prefix}}
        {{extra}}
        schedules:
          - name: slow
            interval_seconds: 3600
            task: {worker_type: w}
          - name: daily
            cron: "@daily"
            goal: {instruction: report}
        """);

    [Fact]
    public async Task Status_trigger_pause_and_resume_round_trip()
    {
        var prefix = TempConfig.UniqueName("c");
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(Config(prefix), nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.ctl";

        var status = await RequestAsync(subject, "");
        Assert.True(status.GetProperty("ok").GetBoolean());
        Assert.Equal("ctl", status.GetProperty("scheduler").GetString());
        Assert.Equal("open", status.GetProperty("nats").GetString());
        Assert.Equal(["slow", "daily"], status.GetProperty("schedules").EnumerateArray().Select(s => s.GetProperty("name").GetString()));

        var trigger = await RequestAsync(subject, """{"action":"trigger","schedule":"slow"}""");
        Assert.True(trigger.GetProperty("ok").GetBoolean(), trigger.GetRawText());
        await seen.WaitForAsync(1, TimeSpan.FromSeconds(5));

        var pause = await RequestAsync(subject, """{"action":"pause","schedule":"slow"}""");
        Assert.True(pause.GetProperty("ok").GetBoolean());
        var paused = (await RequestAsync(subject, """{"action":"status"}""")).GetProperty("schedules")[0];
        Assert.True(paused.GetProperty("paused").GetBoolean());
        Assert.Equal(JsonValueKind.Null, paused.GetProperty("next_fire").ValueKind);
        Assert.Equal(1, paused.GetProperty("fires").GetInt32());
        Assert.Equal(1, paused.GetProperty("dispatched").GetInt32());

        var resume = await RequestAsync(subject, """{"action":"resume","schedule":"slow"}""");
        Assert.True(resume.GetProperty("ok").GetBoolean());
        var resumed = (await RequestAsync(subject, "{}")).GetProperty("schedules")[0];
        Assert.False(resumed.GetProperty("paused").GetBoolean());
        Assert.Equal(JsonValueKind.String, resumed.GetProperty("next_fire").ValueKind);
    }

    [Theory]
    [InlineData("not json", "request is not valid JSON at line 1, column 1 (unexpected 'not'; text goes in double quotes)")]
    [InlineData("[1,2]", "must be a JSON object")]
    [InlineData("""{"action":42}""", "\"action\" must be a string")]
    [InlineData("""{"action":"explode"}""", "unknown action \"explode\"")]
    [InlineData("""{"action":"trigger"}""", "needs \"schedule\"")]
    [InlineData("""{"action":"pause","schedule":"nope"}""", "no schedule is named \"nope\"")]
    [InlineData("""{"action":"resume","schedule":7}""", "\"schedule\" must be a string")]
    public async Task Bad_control_requests_get_a_json_error_and_change_nothing(string body, string error)
    {
        var prefix = TempConfig.UniqueName("b");
        await using var daemon = Loomsched.Run(Config(prefix), nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.ctl";
        await RequestAsync(subject, "{}"); // the control subscription is live

        var reply = await RequestAsync(subject, body);
        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Contains(error, reply.GetProperty("error").GetString());

        var status = await RequestAsync(subject, "{}");
        Assert.All(status.GetProperty("schedules").EnumerateArray(), s =>
        {
            Assert.False(s.GetProperty("paused").GetBoolean());
            Assert.Equal(0, s.GetProperty("fires").GetInt32());
        });
    }

    [Fact]
    public async Task Oversized_control_request_gets_a_json_error()
    {
        var prefix = TempConfig.UniqueName("o");
        await using var daemon = Loomsched.Run(Config(prefix), nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        await RequestAsync($"{prefix}.scheduler.ctl", "{}");
        var reply = await RequestAsync($"{prefix}.scheduler.ctl", "{\"pad\":\"" + new string('x', 100_000) + "\"}");
        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Contains("the limit is 65536", reply.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Control_actions_in_the_config_limit_what_the_subject_may_do()
    {
        var prefix = TempConfig.UniqueName("l");
        await using var daemon = Loomsched.Run(Config(prefix, "control: {actions: [status]}"), nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.ctl";
        Assert.True((await RequestAsync(subject, "{}")).GetProperty("ok").GetBoolean());
        var refused = await RequestAsync(subject, """{"action":"trigger","schedule":"slow"}""");
        Assert.False(refused.GetProperty("ok").GetBoolean());
        Assert.Contains("not allowed", refused.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Cli_status_exits_zero_when_the_daemon_answers_and_one_when_none_does()
    {
        var prefix = TempConfig.UniqueName("s");
        await using var daemon = Loomsched.Run(Config(prefix), nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        await RequestAsync($"{prefix}.scheduler.ctl", "{}");

        var ok = await Loomsched.ExecAsync("status", "--name", "ctl", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
        Assert.Equal(0, ok.Code);
        Assert.Equal("ctl", JsonDocument.Parse(ok.Out).RootElement.GetProperty("scheduler").GetString());

        var none = await Loomsched.ExecAsync("status", "--name", "nobody", "--subject-prefix", prefix, "--nats-url", nats.Server.Url, "--timeout", "1");
        Assert.Equal(1, none.Code);
        Assert.Contains("no scheduler answers", none.Err);

        var paused = await Loomsched.ExecAsync("pause", "daily", "--name", "ctl", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
        Assert.Equal(0, paused.Code);
        // The reply is printed for a person: quotes in its message stay quotes, not \u0022.
        Assert.Contains("\\\"daily\\\"", paused.Out);
        Assert.DoesNotContain("\\u0022", paused.Out);
        var unknown = await Loomsched.ExecAsync("resume", "weekly", "--name", "ctl", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
        Assert.Equal(1, unknown.Code);
        Assert.Contains("no schedule is named", unknown.Out);
    }

    [Fact]
    public async Task Control_commands_exit_1_saying_the_server_refused_the_credentials()
    {
        await using var server = await ReadRefusingServer.StartAsync();
        foreach (var command in new[] { new[] { "status" }, ["trigger", "slow"], ["reload"] })
        {
            var (code, output, error) = await Loomsched.ExecAsync([.. command, "--name", "ctl", "--nats-url", $"nats://sched:wrong-pw@127.0.0.1:{server.Server.Port}"]);
            Assert.Equal(1, code);
            Assert.Empty(output);
            Assert.StartsWith($"loomsched: error: cannot connect to nats://***@127.0.0.1:{server.Server.Port}: the server refused the credentials (authorization violation)", error);
            Assert.DoesNotContain("wrong-pw", error);
            Assert.DoesNotContain("can not", error);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
        }
    }

    [Fact]
    public async Task A_control_command_the_server_refuses_exits_1_at_once_quoting_the_permissions_violation()
    {
        await using var server = await ReadRefusingServer.StartAsync();
        var watch = Stopwatch.StartNew();
        var (code, output, error) = await Loomsched.ExecAsync("status", "--name", "ctl", "--timeout", "10", "--nats-url", server.OperatorUrl);
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Equal("loomsched: error: the server refused the request on loom.scheduler.ctl: Permissions Violation for Publish to \"loom.scheduler.ctl\" (see this user's permissions in the server's config)\n", error);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), $"took {watch.Elapsed.TotalSeconds:0.0} s: it waited for the timeout");
    }

    [Fact]
    public async Task Control_commands_exit_1_naming_the_server_they_cannot_connect_to_and_why()
    {
        int port = NatsServer.FreePort();
        var refused = await Loomsched.ExecAsync("status", "--name", "ctl", "--nats-url", $"nats://127.0.0.1:{port}");
        Assert.Equal(1, refused.Code);
        Assert.Equal($"loomsched: error: cannot connect to nats://127.0.0.1:{port}: Connection refused\n", refused.Err);

        // .invalid never resolves (RFC 2606).
        var unresolved = await Loomsched.ExecAsync("pause", "daily", "--name", "ctl", "--nats-url", "nats://no-such-host.invalid:4222");
        Assert.Equal(1, unresolved.Code);
        Assert.StartsWith("loomsched: error: cannot connect to nats://no-such-host.invalid:4222: ", unresolved.Err);
        Assert.DoesNotContain("can not connect uris", unresolved.Err);
        Assert.Single(unresolved.Err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Status_exits_1_naming_the_subject_and_the_wait_when_a_subscriber_never_answers()
    {
        var prefix = TempConfig.UniqueName("m");
        await using var mute = await nats.Client.SubscribeCoreAsync<byte[]>($"{prefix}.scheduler.mute");
        await nats.Client.PingAsync();
        var (code, output, error) = await Loomsched.ExecAsync("status", "--name", "mute", "--subject-prefix", prefix, "--nats-url", nats.Server.Url, "--timeout", "0.5");
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.StartsWith($"loomsched: error: no scheduler answered on {prefix}.scheduler.mute within 0.5 s; check --name and --subject-prefix", error);
        Assert.Contains("that the daemon is running", error);
        Assert.DoesNotContain("No reply received", error);
    }

    [Fact]
    public async Task A_reply_that_is_not_a_daemons_is_printed_escaped_and_exits_1()
    {
        var prefix = TempConfig.UniqueName("i");
        await using var impostor = await nats.Client.SubscribeCoreAsync<byte[]>($"{prefix}.scheduler.impostor");
        _ = Task.Run(async () =>
        {
            await foreach (var request in impostor.Msgs.ReadAllAsync())
            {
                await request.ReplyAsync("\u001b[2Jnot json\nsecond line"u8.ToArray());
            }
        });
        await nats.Client.PingAsync();

        var (code, output, _) = await Loomsched.ExecAsync("status", "--name", "impostor", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);

        Assert.Equal(1, code);
        Assert.Equal(@"\u001b[2Jnot json\nsecond line", output.TrimEnd('\n'));
    }

    [Fact]
    public async Task Status_of_a_frozen_daemon_exits_1_saying_no_scheduler_answered_in_time()
    {
        var prefix = TempConfig.UniqueName("f");
        await using var daemon = Loomsched.Run(Config(prefix), nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        await RequestAsync($"{prefix}.scheduler.ctl", "{}");
        daemon.Signal(Signals.SIGSTOP);
        try
        {
            var (code, _, error) = await Loomsched.ExecAsync("status", "--name", "ctl", "--subject-prefix", prefix, "--nats-url", nats.Server.Url, "--timeout", "1");
            Assert.Equal(1, code);
            Assert.StartsWith($"loomsched: error: no scheduler answered on {prefix}.scheduler.ctl within 1 s", error);
        }
        finally
        {
            daemon.Signal(Signals.SIGCONT);
        }
    }
}

/// <summary>A status too large for the server's max_payload: the requester hears why, and the subject keeps serving.</summary>
public sealed class OversizedReplyFacts
{
    [Fact]
    public async Task A_status_over_the_servers_max_payload_gets_a_short_error_and_the_control_subject_keeps_answering()
    {
        await using var server = await NatsServer.StartWithConfigTextAsync("max_payload: 4096\n");
        var schedules = string.Join("\n", Enumerable.Range(0, 40).Select(i =>
            $"  - {{name: schedule_number_{i:D3}, interval_seconds: 3600, task: {{worker_type: w}}}}"));
        var config = TempConfig.Write($"name: big\nschedules:\n{schedules}\n");
        await using var daemon = Loomsched.Run(config, server.Url);
        await daemon.WaitForLogAsync("nats connected");

        for (int round = 0; round < 2; round++)
        {
            var status = await Loomsched.ExecAsync("status", "--name", "big", "--nats-url", server.Url, "--timeout", "5");
            Assert.Equal(1, status.Code);
            Assert.Contains("could not be sent", status.Out);
        }
        var trigger = await Loomsched.ExecAsync("trigger", "schedule_number_007", "--name", "big", "--nats-url", server.Url);
        Assert.True(trigger.Code == 0, trigger.Out + trigger.Err);
    }
}
