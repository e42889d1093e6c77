using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests;

/// <summary>The offline commands of the published binary: what a user sees for good and bad input.</summary>
public sealed class CliFacts
{
    [Fact]
    public async Task Version_prints_the_builds_version_from_directory_build_props()
    {
        var props = System.Xml.Linq.XDocument.Load(Path.Combine(Repo.Root, "Directory.Build.props"));
        string version = props.Descendants("Version").Single().Value;
        var (code, output, _) = await Loomsched.ExecAsync("--version");
        Assert.Equal(0, code);
        Assert.Equal($"loomsched {version}", output.Trim());
    }

    [Fact]
    public async Task Run_help_lists_the_signals_and_the_exit_codes()
    {
        var (code, output, _) = await Loomsched.ExecAsync("run", "--help");
        Assert.Equal(0, code);
        Assert.Contains("SIGTERM, SIGINT", output);
        Assert.Contains("SIGHUP                 reload the config", output);
        Assert.Contains("2                      a usage or config error", output);
        Assert.Contains("WATCHDOG=1", output);
    }

    [Fact]
    public async Task Validate_accepts_the_shipped_configs()
    {
        var (code, output, _) = await Loomsched.ExecAsync("validate", Repo.Config("loom.example.yaml"), Repo.Config("scheduler.example.yaml"));
        Assert.True(code == 0, output);
        Assert.Contains("loom.example.yaml: valid, 2 schedule(s)", output);
    }

    [Fact]
    public async Task Validate_of_a_broken_config_exits_2_naming_file_line_and_key_without_a_stack_trace()
    {
        var config = TempConfig.Write("""
            name: broken
            schedules:
              - name: a
                interval_seconds: false
                task: {worker_type: w}
              - name: b
                cron: "61 * * * *"
                goal: {instruction: x}
            """);
        var (code, output, error) = await Loomsched.ExecAsync("validate", config);
        Assert.Equal(2, code);
        Assert.Contains("scheduler.yaml:4:23: error: schedules[0].interval_seconds:", output);
        Assert.Contains("scheduler.yaml:7:11: error: schedules[1].cron:", output);
        Assert.Contains("invalid, 2 error(s)", output);
        Assert.DoesNotContain("   at ", output + error);
    }

    [Theory]
    // an entry's keys → validate's exit code and what it says, at the key's line and column
    [InlineData( // a cron that never fires loads, as in Loom, with a note
        "cron: \"0 0 30 2 *\"", 0,
        "scheduler.yaml:4:11: note: schedules[0].cron: \"0 0 30 2 *\" never fires: no date matches its day-of-month, month and day-of-week fields together; the schedule loads (as in Loom) but sends nothing")]
    [InlineData( // an expand_args key the built-in does not read is a note naming the ones it does
        "interval_seconds: 60\nexpand_from: lines_file\nexpand_args: {path: /etc/hosts, keys: host}", 0,
        "scheduler.yaml:6:37: note: schedules[0].expand_args.keys: 'keys' is ignored: lines_file reads only 'path', 'key' (did you mean 'key'?)")]
    [InlineData( // @reboot is refused: a scheduler has no boot
        "cron: \"@reboot\"", 2,
        "scheduler.yaml:4:11: error: schedules[0].cron: \"@reboot\" is not supported: it means once at boot, and a scheduler has no boot to fire at;")]
    public async Task Validate_says_what_it_notes_or_refuses_in_an_entry_at_the_key(string keys, int exit, string says)
    {
        var config = TempConfig.Write($$"""
            name: entry
            schedules:
              - name: s
            {{string.Join('\n', keys.Split('\n').Select(k => "    " + k))}}
                task: {worker_type: w}
            """);
        var (code, output, _) = await Loomsched.ExecAsync("validate", config);
        Assert.True(code == exit, output);
        Assert.Contains(says, output);
        Assert.Contains(exit == 0 ? "valid, 1 schedule(s)" : "invalid, 1 error(s)", output);
    }

    [Fact]
    public async Task Run_with_an_invalid_config_exits_2_before_connecting()
    {
        var config = TempConfig.Write("name: x\nschedules: 5\n");
        var (code, _, error) = await Loomsched.ExecAsync("run", "--config", config, "--nats-url", "nats://127.0.0.1:1");
        Assert.Equal(2, code);
        Assert.Contains("schedules", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("run")]
    [InlineData("run", "--config")]
    [InlineData("run", "--config", "x.yaml", "--colour", "red")]
    [InlineData("next")]
    [InlineData("next", "x.yaml", "--count", "zero")]
    [InlineData("status")]
    [InlineData("trigger", "--name", "s")]
    [InlineData("run", "--config", "x.yaml", "--nats-url", "http://example")]
    [InlineData("status", "--name", "a b.*")]
    [InlineData("watch", "loom..x")]
    [InlineData("next", "x.yaml", "--from", "yesterday")]
    [InlineData("run", "--config", "x.yaml", "--nats-url", "nats://")]
    [InlineData("status", "--name", "s", "--nats-url", "tls://:4222")]
    [InlineData("bogus\ncommand")]
    [InlineData("status", "--name", "a\nb")]
    [InlineData("next", "x.yaml", "--from", "2027-01-01\n00:00Z")]
    public async Task Usage_mistakes_exit_2_with_one_line(params string[] args)
    {
        var (code, output, error) = await Loomsched.ExecAsync(args);
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("loomsched: error: ", error);
    }

    [Theory]
    [InlineData("--tls-ca", "CERTIFICATE")]
    [InlineData("--tls-cert", "CERTIFICATE")]
    [InlineData("--tls-key", "PRIVATE KEY")]
    public async Task A_tls_file_that_is_not_pem_is_refused_at_start_naming_the_option_and_the_block_it_lacks(string option, string block)
    {
        var notPem = Repo.Config("scheduler.example.yaml"); // a readable file, but YAML
        var dir = Directory.CreateTempSubdirectory("loomsched-pem-").FullName;
        string cert = Path.Combine(dir, "cert.pem"), key = Path.Combine(dir, "key.pem");
        await File.WriteAllTextAsync(cert, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        await File.WriteAllTextAsync(key, "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n");
        string[] tls = option switch
        {
            "--tls-ca" => [option, notPem],
            "--tls-cert" => [option, notPem, "--tls-key", key],
            _ => ["--tls-cert", cert, option, notPem],
        };
        foreach (string[] command in (string[][])[["run", "--config", notPem], ["status", "--name", "s"]])
        {
            var (code, output, error) = await Loomsched.ExecAsync([.. command, .. tls]);
            Assert.Equal(2, code);
            Assert.Empty(output);
            Assert.Equal($"loomsched: error: {command[0]}: {option} {notPem}: not a PEM file with a \"-----BEGIN {block}-----\" block\n", error);
        }
    }

    [Fact]
    public async Task Next_lists_upcoming_slots_in_the_entry_zone()
    {
        var config = TempConfig.Write("""
            name: z
            schedules:
              - name: berlin_nine
                cron: "0 9 * * *"
                time_zone: Europe/Berlin
                goal: {instruction: x}
            """);
        var (code, output, _) = await Loomsched.ExecAsync("next", config, "--count", "3");
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("berlin_nine  (cron \"0 9 * * *\" (Europe/Berlin))", lines[0]);
        Assert.Equal(3, lines.Skip(1).Count());
        Assert.All(lines.Skip(1), l => Assert.Matches(@"^  \d{4}-\d\d-\d\dT09:00:00\+0[12]:00  \d{4}-\d\d-\d\dT0[78]:00:00Z$", l));
    }

    // An empty path is a usage error, before any file is read (CliFileArgumentFacts).
    [Theory]
    [InlineData("long", "the path is too long for the file system; check the path")]
    public async Task Validate_of_a_path_that_names_no_file_says_why_in_plain_words(string path, string why)
    {
        if (path == "long")
        {
            path = Path.Combine(Path.GetTempPath(), new string('a', 5000) + ".yaml");
        }
        var (code, output, error) = await Loomsched.ExecAsync("validate", path);
        Assert.Equal(2, code);
        Assert.Equal($"{path}: error: {why}\n{path}: invalid, 1 error(s)\n", output);
        Assert.Equal("", error);
    }

    [Fact]
    public async Task Next_on_a_config_without_schedules_says_so_plainly_and_exits_0()
    {
        var config = TempConfig.Write("""
            name: empty
            schedules: []
            """);
        var (code, output, _) = await Loomsched.ExecAsync("next", config);
        Assert.Equal(0, code);
        Assert.Equal("(the config has no schedules: nothing fires)\n", output);

        (code, output, var error) = await Loomsched.ExecAsync("next", config, "--schedule", "nightly");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        // After the config's note that it has no schedules (as validate prints it), the one line of the refusal.
        Assert.Equal("loomsched: error: next: no schedule is named \"nightly\": the config has no schedules", error.TrimEnd('\n').Split('\n')[^1]);
    }

    [Fact]
    public async Task Next_of_a_schedule_name_with_a_line_break_quotes_it_escaped_on_one_line()
    {
        var config = TempConfig.Write("""
            name: z
            schedules:
              - {name: a, interval_seconds: 60, task: {worker_type: w}}
            """);
        var (code, output, error) = await Loomsched.ExecAsync("next", config, "--schedule", "a\nz.yaml: valid, 1 schedule(s)");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal("loomsched: error: next: no schedule is named \"a\\nz.yaml: valid, 1 schedule(s)\"; known: a\n", error);
    }

    [Fact]
    public async Task Next_writes_a_direction_mark_in_a_schedule_name_escaped()
    {
        // Found by the mutation fuzz: a right-to-left mark (U+200F) in a name loads, as in Loom, and was printed raw.
        var config = TempConfig.Write("""
            name: z
            schedules:
              - {name: "every\u200fcheck", interval_seconds: 60, task: {worker_type: w}}
            """);
        var (code, output, _) = await Loomsched.ExecAsync("next", config, "--count", "1");
        Assert.Equal(0, code);
        Assert.StartsWith("every\\u200fcheck  (every 60 s)\n", output);
    }

    [Theory]
    [InlineData("run", "--help")]
    [InlineData("run", "--config", "x.yaml", "-h")]
    [InlineData("validate", "--help")]
    [InlineData("next", "-h")]
    [InlineData("next", "x.yaml", "--count", "3", "--help")]
    [InlineData("status", "--help")]
    [InlineData("trigger", "--name", "s", "--help")]
    [InlineData("pause", "-h")]
    [InlineData("resume", "--help")]
    [InlineData("reload", "--help")]
    [InlineData("watch", "loom.>", "--help")]
    [InlineData("help", "next")]
    public async Task Help_after_any_command_prints_that_commands_usage_on_stdout_and_exits_0(params string[] args)
    {
        string command = args[0] == "help" ? args[1] : args[0];
        var (code, output, error) = await Loomsched.ExecAsync(args);
        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.StartsWith($"usage: loomsched {command}", output);
        Assert.DoesNotContain("unknown option", output);
    }

    [Fact]
    public async Task Help_for_a_command_that_does_not_exist_is_a_usage_error()
    {
        var (code, output, error) = await Loomsched.ExecAsync("help", "nonsense");
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal("loomsched: error: help: unknown command \"nonsense\"; expected run, validate, next, plan, status, trigger, pause, resume, reload, watch, schedule\n", error);
    }

    [Fact]
    public async Task Help_lists_the_options_of_next_including_from()
    {
        var (code, output, _) = await Loomsched.ExecAsync("next", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--count N", output);
        Assert.Contains("--schedule S", output);
        Assert.Contains("--from TIME", output);
        Assert.Contains("--from TIME", (await Loomsched.ExecAsync("--help")).Out);
    }

    [Fact]
    public async Task Next_from_a_given_instant_lists_the_slots_after_it_across_a_DST_change()
    {
        var config = TempConfig.Write("""
            name: z
            schedules:
              - name: berlin_nine
                cron: "0 9 * * *"
                time_zone: Europe/Berlin
                goal: {instruction: x}
              - name: half_hourly
                interval_seconds: 1800
                task: {worker_type: w}
            """);
        var (code, output, error) = await Loomsched.ExecAsync("next", config, "--count", "2", "--from", "2027-03-27T09:00:00+01:00");
        Assert.True(code == 0, error);
        Assert.Equal(
            [
                "berlin_nine  (cron \"0 9 * * *\" (Europe/Berlin))",
                "  2027-03-28T09:00:00+02:00  2027-03-28T07:00:00Z",
                "  2027-03-29T09:00:00+02:00  2027-03-29T07:00:00Z",
                "half_hourly  (every 1800 s)",
                "  2027-03-27T08:30:00+00:00  2027-03-27T08:30:00Z",
                "  2027-03-27T09:00:00+00:00  2027-03-27T09:00:00Z",
            ],
            output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var utc = await Loomsched.ExecAsync("next", config, "--count", "1", "--schedule", "berlin_nine", "--from", "2027-03-27T00:00:00Z");
        Assert.Contains("  2027-03-27T09:00:00+01:00  2027-03-27T08:00:00Z", utc.Out);
    }

    [Theory]
    [InlineData("2027-03-27", "--from must be a time with its offset, such as 2027-03-27T00:00:00Z or 2027-03-27T01:00:00+01:00, got \"2027-03-27\"")]
    [InlineData("tomorrow", "--from must be a time with its offset, such as 2027-03-27T00:00:00Z or 2027-03-27T01:00:00+01:00, got \"tomorrow\"")]
    [InlineData("2027-03-27T00:00:00", "--from \"2027-03-27T00:00:00\" has no offset; add Z for UTC or ±hh:mm, such as 2027-03-27T00:00:00Z or 2027-03-27T00:00:00+01:00")]
    [InlineData("2026-12-08T10:00:00+14:30", "--from \"2026-12-08T10:00:00+14:30\" has the offset +14:30, out of range: an offset is Z or ±hh:mm from -14:00 to +14:00 (minutes 00 to 59), such as 2026-12-08T10:00:00+14:00")]
    [InlineData("2026-12-08T10:00:00-15:00", "--from \"2026-12-08T10:00:00-15:00\" has the offset -15:00, out of range: an offset is Z or ±hh:mm from -14:00 to +14:00 (minutes 00 to 59), such as 2026-12-08T10:00:00+14:00")]
    [InlineData("2026-12-08T10:00+05:60", "--from \"2026-12-08T10:00+05:60\" has the offset +05:60, out of range: an offset is Z or ±hh:mm from -14:00 to +14:00 (minutes 00 to 59), such as 2026-12-08T10:00+14:00")]
    [InlineData("2026-12-08T10:00:00+0530", "--from \"2026-12-08T10:00:00+0530\" ends in \"+0530\", which is no offset; write Z for UTC or ±hh:mm, such as 2026-12-08T10:00:00Z or 2026-12-08T10:00:00+01:00")]
    [InlineData("2026-12-08T10:00:00 UTC", "--from \"2026-12-08T10:00:00 UTC\" ends in \" UTC\", which is no offset; write Z for UTC or ±hh:mm, such as 2026-12-08T10:00:00Z or 2026-12-08T10:00:00+01:00")]
    [InlineData("2026-12-08T10:00:00Z\n", "--from \"2026-12-08T10:00:00Z\\n\" ends in \"Z\\n\", which is no offset; write Z for UTC or ±hh:mm, such as 2026-12-08T10:00:00Z or 2026-12-08T10:00:00+01:00")]
    [InlineData("2027-13-01T00:00:00Z", "--from \"2027-13-01T00:00:00Z\" is no date-time on the calendar (month 1–12, a day the month has, hours 00–23, minutes and seconds 00–59)")]
    [InlineData("0001-01-01T00:00:00+01:00", "--from must be in the years 1970 to 9000, got \"0001-01-01T00:00:00+01:00\"")]
    public async Task Next_with_a_from_it_cannot_read_exits_2_saying_what_is_wrong_and_what_is_taken(string from, string message)
    {
        var (code, output, error) = await Loomsched.ExecAsync("next", Repo.Config("loom.example.yaml"), "--from", from);
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal($"loomsched: error: next: {message}\n", error);
        (code, output, error) = await Loomsched.ExecAsync("plan", Repo.Config("loom.example.yaml"), "--from", from);
        Assert.Equal((2, "", $"loomsched: error: plan: {message}\n"), (code, output, error));
    }

    [Theory]
    [InlineData("2026-12-08T10:00:00+14:00", "2026-12-07T20:00:00Z")]
    [InlineData("2026-12-08T10:00:00-12:00", "2026-12-08T22:00:00Z")]
    [InlineData("2026-12-08T10:00:00-14:00", "2026-12-09T00:00:00Z")]
    [InlineData("2026-12-08t10:00:00.5z", "2026-12-08T10:00:00.500000Z")]
    [InlineData("2026-12-08T10:00Z", "2026-12-08T10:00:00Z")]
    public async Task Next_from_takes_any_offset_from_minus_to_plus_14_hours_and_Z(string from, string utc)
    {
        var (code, output, error) = await Loomsched.ExecAsync("next", Repo.Config("loom.example.yaml"), "--json", "--from", from);
        Assert.True(code == 0, error);
        Assert.Equal(utc, System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("from").GetString());
    }

    [Theory]
    [InlineData("loom..x", "empty token")]
    [InlineData(".loom", "empty token")]
    [InlineData("loom.>.x", "> matches the rest of the subject, so it must be the last token")]
    [InlineData("loom.tasks*", "the wildcards * and > stand alone as a token, not inside \"tasks*\"")]
    [InlineData("loom tasks", "contains a space")]
    public async Task Watch_of_an_invalid_subject_exits_2_saying_what_is_wrong_with_it(string subject, string why)
    {
        var (code, output, error) = await Loomsched.ExecAsync("watch", subject, "--nats-url", "nats://127.0.0.1:1");
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.StartsWith($"loomsched: error: watch: \"{subject}\" is not a NATS subject: ", error);
        Assert.Contains(why, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Theory]
    [InlineData("status", "--name", "a b.*", "--name \"a b.*\" is not a scheduler name")]
    [InlineData("status", "--name", "site..ctl", "--name \"site..ctl\" is not a scheduler name")]
    [InlineData("reload", "--name", "ctl", "--subject-prefix", "loom..x", "--subject-prefix \"loom..x\" is not a subject prefix")]
    [InlineData("pause", "daily", "--name", "ctl", "--subject-prefix", "loom.*", "--subject-prefix \"loom.*\" is not a subject prefix")]
    public async Task Control_commands_with_a_bad_name_or_subject_prefix_exit_2_naming_the_option(params string[] argsAndMessage)
    {
        var (code, output, error) = await Loomsched.ExecAsync([.. argsAndMessage[..^1], "--nats-url", "nats://127.0.0.1:1"]);
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.StartsWith($"loomsched: error: {argsAndMessage[0]}: {argsAndMessage[^1]}", error);
        Assert.DoesNotContain("Subject is invalid", error);
    }

    [Fact]
    public async Task A_bad_name_from_LOOMSCHED_NAME_is_named_as_LOOMSCHED_NAME()
    {
        var (code, _, error) = await Loomsched.ExecAsync(new Dictionary<string, string> { ["LOOMSCHED_NAME"] = "a b" }, "status");
        Assert.Equal(2, code);
        Assert.StartsWith("loomsched: error: status: LOOMSCHED_NAME \"a b\" is not a scheduler name", error);
    }

    [Theory]
    [InlineData("status", "--name", "ctl")]
    [InlineData("watch")]
    [InlineData("run", "--config", "x.yaml")]
    public async Task A_bad_url_in_NATS_URL_is_named_as_NATS_URL(params string[] args)
    {
        var (code, _, error) = await Loomsched.ExecAsync(new Dictionary<string, string> { ["NATS_URL"] = "http://user:secret@example" }, args);
        Assert.Equal(2, code);
        Assert.Equal($"loomsched: error: {args[0]}: NATS_URL \"http://***@example\" is not a NATS URL such as nats://127.0.0.1:4222\n", error);
    }

    [Theory]
    [InlineData("--nats-url", "")]
    [InlineData("--nats-url", " , ")]
    [InlineData("NATS_URL", " ")]
    public async Task A_blank_nats_url_is_a_usage_error_not_a_connection_to_nowhere(string source, string url)
    {
        var env = new Dictionary<string, string>();
        string[] args = ["status", "--name", "ctl"];
        if (source == "NATS_URL")
        {
            env["NATS_URL"] = url;
        }
        else
        {
            args = [.. args, source, url];
        }

        var (code, _, error) = await Loomsched.ExecAsync(env, args);

        Assert.Equal(2, code);
        Assert.Equal($"loomsched: error: status: {source} is empty; name a server such as nats://127.0.0.1:4222\n", error);
    }
}

/// <summary><c>loomsched watch</c> against servers that cannot be reached, refuse it, or go away and come back.</summary>
public sealed class WatchCliFacts
{
    [Fact]
    public async Task Watch_exits_1_naming_the_server_when_it_cannot_connect()
    {
        int port = NatsServer.FreePort();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (code, output, error) = await Loomsched.ExecAsync("watch", "--nats-url", $"nats://127.0.0.1:{port}");
        Assert.Equal(1, code);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.Empty(output);
        Assert.Equal($"loomsched: error: cannot connect to nats://127.0.0.1:{port}: Connection refused\n", error);
    }

    [Fact]
    public async Task Watch_exits_1_saying_the_server_refused_the_credentials()
    {
        await using var nats = await ReadRefusingServer.StartAsync();
        var (code, _, error) = await Loomsched.ExecAsync("watch", "--nats-url", $"nats://sched:wrong-pw@127.0.0.1:{nats.Server.Port}");
        Assert.Equal(1, code);
        Assert.StartsWith($"loomsched: error: cannot connect to nats://***@127.0.0.1:{nats.Server.Port}: the server refused the credentials", error);
        Assert.DoesNotContain("wrong-pw", error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Watch_exits_1_quoting_the_permissions_violation_when_the_server_refuses_the_subscription()
    {
        await using var nats = await ReadRefusingServer.StartAsync();
        var (code, _, error) = await Loomsched.ExecAsync("watch", "--nats-url", nats.OperatorUrl);
        Assert.Equal(1, code);
        Assert.EndsWith("loomsched: error: the server refused to let this user watch loom.>: Permissions Violation for Subscription to \"loom.>\" (see the user's permissions in the server's config)\n", error);
    }

    [Fact]
    public async Task Watch_prints_messages_escaped_and_says_on_stderr_when_it_loses_the_server_and_when_it_is_back()
    {
        await using var server = await NatsServer.StartAsync();
        await using var client = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with { Url = server.Url });
        await using var watch = Loomsched.Start("watch", "w.>", "--nats-url", server.Url);
        await watch.WaitForLogAsync($"watching w.> on {server.Url}");
        await PublishUntilSeenAsync(client, watch, "w.one", "first");
        // Anyone who may publish wrote it: an escape sequence cannot restyle the terminal, nor a line break split it.
        await PublishUntilSeenAsync(client, watch, "w.evil",
            shown: @"clear\u001b[2J title\u001b]0;title\u0007 two\nlines", body: "clear\u001b[2J title\u001b]0;title\u0007 two\nlines");
        Assert.DoesNotContain(watch.Stdout, line => line.Any(char.IsControl));

        await server.StopAsync();
        await watch.WaitForLogAsync($"loomsched: note: lost the connection to {server.Url}; reconnecting");
        // The first attempt may still meet the server going down (connection reset); the next ones are refused.
        await watch.WaitForLogAsync($"loomsched: note: nats connect to {server.Url} failed (attempt 2): Connection refused; retrying");
        await server.RestartAsync();
        await watch.WaitForLogAsync($"loomsched: note: reconnected to {server.Url}");
        await PublishUntilSeenAsync(client, watch, "w.two", "second");

        var (code, _) = await watch.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);
        Assert.DoesNotContain("   at ", watch.Log);
    }

    [Theory]
    [InlineData(false, "w.pipe schedule=- slot=- {\"n\":1}")]
    [InlineData(true, "{\"subject\":\"w.pipe\",")]
    public async Task Watch_ends_with_0_once_the_reader_of_its_output_is_gone(bool json, string firstLine)
    {
        await using var server = await NatsServer.StartAsync();
        await using var client = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with { Url = server.Url });
        // head takes one line and leaves: the next line watch writes finds no reader.
        var info = ChildProcess.Info("bash",
            ["-c", "\"$0\" watch w.pipe --nats-url \"$1\" $2 | head -n 1; echo \"watch exited ${PIPESTATUS[0]}\"", Repo.Binary, server.Url, json ? "--json" : ""]);
        using var pipeline = System.Diagnostics.Process.Start(info)!;
        var output = pipeline.StandardOutput.ReadToEndAsync();
        var error = pipeline.StandardError.ReadToEndAsync();
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!pipeline.HasExited)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(15))
            {
                pipeline.Kill(entireProcessTree: true);
                Assert.Fail($"watch ran on with no reader; stderr: {await error}");
            }
            await client.PublishAsync("w.pipe", "{\"n\":1}");
            await Task.Delay(100);
        }
        var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith(firstLine, lines[0]);
        Assert.Equal("watch exited 0", lines[1]);
        Assert.DoesNotContain("   at ", await error);
    }

    private static Task PublishUntilSeenAsync(NATS.Client.Core.NatsConnection client, Loomsched watch, string subject, string body) =>
        PublishUntilSeenAsync(client, watch, subject, body, body);

    private static async Task PublishUntilSeenAsync(NATS.Client.Core.NatsConnection client, Loomsched watch, string subject, string shown, string body)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!watch.Stdout.Contains($"{subject} schedule=- slot=- {shown}"))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"watch did not print {subject}; stdout: {string.Join('\n', watch.Stdout)}; stderr: {watch.Log}");
            try
            {
                await client.PublishAsync(subject, body);
            }
            catch (NATS.Client.Core.NatsException)
            {
                // the test's own client is still reconnecting
            }
            await Task.Delay(100);
        }
    }
}
