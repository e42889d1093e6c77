using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.KeyValueStore;

namespace LoomSched.EndToEnd.Tests;

/// <summary>The built-in expansion functions through the published binary: one message per map, merged.</summary>
[Collection("nats")]
public sealed class ExpansionFacts(NatsFixture nats)
{
    [Fact]
    public async Task Each_builtin_fans_a_fire_out_into_one_merged_message_per_map()
    {
        var prefix = TempConfig.UniqueName("x");
        var dir = Directory.CreateTempSubdirectory("loomsched-expand-").FullName;
        var json = Path.Combine(dir, "sessions.json");
        await File.WriteAllTextAsync(json, """[{"session": "s1", "user": "ada"}, {"session": "s2", "user": "bob"}]""");
        var lines = Path.Combine(dir, "hosts.txt");
        await File.WriteAllTextAsync(lines, "alpha\n\nbeta\ngamma\n");
        var bucket = TempConfig.UniqueName("kv");
        var kv = await new NatsKVContext(new NATS.Client.JetStream.NatsJSContext(nats.Client)).CreateStoreAsync(bucket);
        await kv.PutAsync("agent-1", """{"state": "busy"}"""u8.ToArray());
        await kv.PutAsync("agent-2", "plain"u8.ToArray());

        var config = TempConfig.Write($$"""
            name: fan
            subject_prefix: {{prefix}}
            schedules:
              - name: from_json
                interval_seconds: 3600
                task:
                  worker_type: w
                  payload: {user: nobody, kind: session}
                expand_from: json_file
                expand_args: {path: {{json}}}
              - name: from_lines
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: lines_file
                expand_args: {path: {{lines}}, key: host}
              - name: from_range
                interval_seconds: 3600
                goal:
                  instruction: load
                  context: {batch: 7}
                expand_from: range
                expand_args: {count: 5}
              - name: from_kv
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: nats_kv_keys
                expand_args: {bucket: {{bucket}}}
            """);
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.>");
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        foreach (var schedule in new[] { "from_json", "from_lines", "from_range", "from_kv" })
        {
            var (code, output, error) = await Loomsched.ExecAsync("trigger", schedule, "--name", "fan", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
            Assert.True(code == 0, output + error);
        }

        static IReadOnlyList<string> Field(IEnumerable<Received> messages, string map) =>
            [.. messages.OrderBy(m => m.Header("Nats-Msg-Id"), StringComparer.Ordinal).Select(m => m.Body.GetProperty(map).GetRawText())];

        var fromJson = await seen.WaitForAsync(2, TimeSpan.FromSeconds(10), m => m.Header("Loom-Schedule") == "from_json");
        Assert.Equal(
            ["""{"user":"ada","kind":"session","session":"s1"}""", """{"user":"bob","kind":"session","session":"s2"}"""],
            Field(fromJson, "payload"));

        var fromLines = await seen.WaitForAsync(3, TimeSpan.FromSeconds(10), m => m.Header("Loom-Schedule") == "from_lines");
        Assert.Equal(["""{"host":"alpha"}""", """{"host":"beta"}""", """{"host":"gamma"}"""], Field(fromLines, "payload"));

        var fromRange = await seen.WaitForAsync(5, TimeSpan.FromSeconds(10), m => m.Header("Loom-Schedule") == "from_range");
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $$"""{"batch":7,"index":{{i}}}"""), Field(fromRange, "context"));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"/{i}"),
            fromRange.Select(m => m.Header("Nats-Msg-Id")!).Select(id => id[id.LastIndexOf('/')..]).Order(StringComparer.Ordinal));

        var fromKv = await seen.WaitForAsync(2, TimeSpan.FromSeconds(10), m => m.Header("Loom-Schedule") == "from_kv");
        Assert.Equal(["""{"key":"agent-1","state":"busy"}""", """{"key":"agent-2"}"""], Field(fromKv, "payload"));
    }

    [Fact]
    public async Task Fan_outs_in_a_row_deliver_every_message_intact_while_the_memory_of_confirmed_ones_is_reused()
    {
        // Each fire is more than max_pending (10,000): the bodies of confirmed messages leave their memory to later
        // ones within a fire and across fires. A body overwritten too early would no longer match its own headers.
        const int maps = 12_000, fires = 3;
        var prefix = TempConfig.UniqueName("reuse");
        var config = TempConfig.Write($$"""
            name: reuse
            subject_prefix: {{prefix}}
            schedules:
              - name: burst
                interval_seconds: 86400
                task:
                  worker_type: w
                  payload: {source: reuse}
                expand_from: range
                expand_args: {count: {{maps}}}
            """);
        await using var client = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with
        {
            Url = nats.Server.Url,
            SubPendingChannelCapacity = fires * maps, // no message dropped by this subscriber while it parses
        });
        await client.ConnectAsync();
        await using var seen = await Captured.StartAsync(client, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");

        for (int fire = 1; fire <= fires; fire++)
        {
            var (code, output, error) = await Loomsched.ExecAsync("trigger", "burst", "--name", "reuse", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
            Assert.True(code == 0, output + error);
            await seen.WaitForAsync(fire * maps, TimeSpan.FromSeconds(60));
        }

        var messages = seen.Messages;
        Assert.Equal(fires * maps, messages.Count);
        Assert.Equal(fires * maps, messages.Select(m => m.Body.GetProperty("task_id").GetString()).Distinct().Count());
        foreach (var slot in messages.GroupBy(m => m.Header("Loom-Scheduled-For")))
        {
            Assert.Equal(maps, slot.Count());
            foreach (var m in slot)
            {
                // The id's index (header) and the payload's (body) are the same map's.
                var id = m.Header("Nats-Msg-Id")!;
                Assert.Equal(id[(id.LastIndexOf('/') + 1)..], m.Body.GetProperty("payload").GetProperty("index").GetRawText());
                Assert.Equal("reuse", m.Body.GetProperty("payload").GetProperty("source").GetString());
                Assert.Equal(slot.Key, m.Body.GetProperty("metadata").GetProperty("scheduled_for").GetString());
            }
            Assert.Equal(Enumerable.Range(0, maps), slot.Select(m => m.Body.GetProperty("payload").GetProperty("index").GetInt32()).Order());
        }
        Assert.Equal(fires, messages.Select(m => m.Header("Loom-Scheduled-For")).Distinct().Count());
    }

    [Fact]
    public async Task A_failing_builtin_is_counted_and_reported_in_status_in_plain_words_not_resource_keys()
    {
        // Only the published binary (UseSystemResourceKeys) shows what the framework's messages would have been here.
        var dir = Directory.CreateTempSubdirectory("loomsched-failing-").FullName;
        var broken = Path.Combine(dir, "broken.json");
        await File.WriteAllTextAsync(broken, "{n");
        var missingLines = Path.Combine(dir, "sessions.txt");
        var prefix = TempConfig.UniqueName("f");
        var config = TempConfig.Write($$"""
            name: failing
            subject_prefix: {{prefix}}
            schedules:
              - name: missing_file
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: json_file
                expand_args: {path: /nonexistent/sessions.json}
              - name: missing_lines
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: lines_file
                expand_args: {path: {{missingLines}}}
              - name: a_directory
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: json_file
                expand_args: {path: {{dir}}}
              - name: broken_json
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: json_file
                expand_args: {path: {{broken}}}
              - name: no_bucket
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: nats_kv_keys
                expand_args: {bucket: no_such_bucket}
              - name: line_break
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: json_file
                expand_args: {path: "/nonexistent\n2026-12-07T00:00:00Z info a forged line"}
            """);
        var expected = new Dictionary<string, string>
        {
            ["missing_file"] = "expansion \"json_file\" failed: cannot read '/nonexistent/sessions.json': no such file or directory",
            ["missing_lines"] = $"expansion \"lines_file\" failed: cannot read '{missingLines}': no such file or directory",
            ["a_directory"] = $"expansion \"json_file\" failed: cannot read '{dir}': it is a directory, not a file",
            ["broken_json"] = $"expansion \"json_file\" failed: '{broken}' is not valid JSON at line 1, column 2 (unexpected 'n'; text goes in double quotes)",
            ["no_bucket"] = "expansion \"nats_kv_keys\" failed: there is no KV bucket named 'no_such_bucket'",
            // The log writes the line break as \n: one event stays one line.
            ["line_break"] = @"expansion ""json_file"" failed: cannot read '/nonexistent\n2026-12-07T00:00:00Z info a forged line': no such file or directory",
        };
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        foreach (var name in expected.Keys)
        {
            var trigger = await Loomsched.ExecAsync("trigger", name, "--name", "failing", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
            Assert.Equal(0, trigger.Code);
            await daemon.WaitForLogAsync($"fire failed {name} ");
        }

        var status = await Loomsched.ExecAsync("status", "--name", "failing", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
        foreach (var schedule in JsonDocument.Parse(status.Out).RootElement.GetProperty("schedules").EnumerateArray())
        {
            var name = schedule.GetProperty("name").GetString()!;
            Assert.Equal(1, schedule.GetProperty("errors").GetInt32());
            Assert.Equal(expected[name], schedule.GetProperty("last_error").GetString()!.Replace("\n", "\\n", StringComparison.Ordinal));
            Assert.Contains(daemon.Stderr, l => l.Contains($"fire failed {name} ", StringComparison.Ordinal) && l.EndsWith(expected[name], StringComparison.Ordinal));
        }
        Assert.DoesNotContain(daemon.Stderr, l => l.Contains("a forged line", StringComparison.Ordinal) && !l.Contains("fire failed", StringComparison.Ordinal));
        Assert.False(daemon.HasExited);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_bucket_whose_keys_cannot_be_read_fails_the_fire_instead_of_sending_a_part_of_it()
    {
        // The keys are listed (a consumer) but their values are refused (direct gets): no answer is not "deleted",
        // so the fire fails whole and says which key, rather than fan out to the keys it happened to read.
        await using var nats = await ReadRefusingServer.StartAsync();
        var bucket = TempConfig.UniqueName("kv");
        var kv = await new NatsKVContext(new NATS.Client.JetStream.NatsJSContext(nats.Client)).CreateStoreAsync(bucket);
        await kv.PutAsync("agent-1", """{"state": "busy"}"""u8.ToArray());
        await kv.PutAsync("agent-2", """{"state": "idle"}"""u8.ToArray());
        var prefix = TempConfig.UniqueName("kvr");
        var config = TempConfig.Write($$"""
            name: kvread
            subject_prefix: {{prefix}}
            schedules:
              - name: agents
                interval_seconds: 86400
                task: {worker_type: w}
                expand_from: nats_kv_keys
                expand_args: {bucket: {{bucket}}}
            """);
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(config, nats.DaemonUrl);
        await daemon.WaitForLogAsync("nats connected");
        string[] control = ["--name", "kvread", "--subject-prefix", prefix, "--nats-url", nats.DaemonUrl];

        await nats.RefuseReadsAsync();
        Assert.Equal(0, (await Loomsched.ExecAsync(["trigger", "agents", .. control])).Code);
        await daemon.WaitForLogAsync("fire failed agents", TimeSpan.FromSeconds(30));
        var failed = daemon.Stderr.Single(l => l.Contains("fire failed agents", StringComparison.Ordinal));
        Assert.True(failed.Contains($"cannot read the key 'agent-1' of the KV bucket '{bucket}'", StringComparison.Ordinal), failed);
        var status = await Loomsched.ExecAsync(["status", .. control]);
        var schedule = JsonDocument.Parse(status.Out).RootElement.GetProperty("schedules")[0];
        Assert.Equal(1, schedule.GetProperty("errors").GetInt32());
        Assert.Contains("agent-1", schedule.GetProperty("last_error").GetString());
        Assert.Empty(seen.Messages);

        await nats.AllowReadsAsync();
        Assert.Equal(0, (await Loomsched.ExecAsync(["trigger", "agents", .. control])).Code);
        var sent = await seen.WaitForAsync(2, TimeSpan.FromSeconds(10));
        Assert.Equal(["agent-1", "agent-2"], sent.Select(m => m.Body.GetProperty("payload").GetProperty("key").GetString()).Order(StringComparer.Ordinal));
        Assert.False(daemon.HasExited);
    }

    [Fact]
    public async Task Validate_rejects_an_unknown_function_and_bad_arguments_with_exit_2()
    {
        var config = TempConfig.Write("""
            name: refs
            schedules:
              - name: typo
                interval_seconds: 60
                task: {worker_type: w}
                expand_from: jsn_file
                expand_args: {path: /tmp/x.json}
              - name: bad_count
                interval_seconds: 60
                task: {worker_type: w}
                expand_from: range
                expand_args: {count: lots}
            """);
        var (code, output, _) = await Loomsched.ExecAsync("validate", config);
        Assert.Equal(2, code);
        Assert.Contains("scheduler.yaml:6:18: error: schedules[0].expand_from: unknown expansion function \"jsn_file\"; did you mean \"json_file\"?", output);
        Assert.Contains("schedules[1].expand_args.count", output);
    }

    [Fact]
    public async Task Json_log_format_writes_one_json_object_per_line()
    {
        var prefix = TempConfig.UniqueName("j");
        var config = TempConfig.Write($$"""
            name: jsonlog
            subject_prefix: {{prefix}}
            schedules:
              - name: quick
                interval_seconds: 0.3
                task: {worker_type: w}
              - name: failing
                interval_seconds: 0.3
                task: {worker_type: w}
                expand_from: json_file
                expand_args: {path: /nonexistent.json}
            """);
        await using var daemon = Loomsched.Run(config, nats.Server.Url, "--log-format", "json");
        await daemon.WaitForLogAsync("\"fired quick");
        // Quotes read as quotes (JSON's \"), not \u0022, and an apostrophe as itself.
        await daemon.WaitForLogAsync(@"sent=0: expansion \""json_file\"" failed: cannot read '/nonexistent.json': no such file or directory""");
        var (code, _) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);
        var lines = daemon.Stderr.Where(l => l.Length > 0).ToList();
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var doc = JsonDocument.Parse(line).RootElement; // every line parses
            Assert.True(doc.TryGetProperty("time", out _) && doc.TryGetProperty("level", out _) && doc.TryGetProperty("message", out _), line);
        }
        var fired = lines.Select(l => JsonDocument.Parse(l).RootElement).First(e => e.GetProperty("message").GetString()!.StartsWith("fired", StringComparison.Ordinal));
        Assert.Equal("quick", fired.GetProperty("schedule").GetString());
        Assert.Equal(1, fired.GetProperty("messages").GetInt32());
        Assert.True(fired.TryGetProperty("lateness_ms", out _));
    }
}
