using LoomSched.EndToEnd.Tests.Reliability.Support;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;
using NATS.NKeys;

namespace LoomSched.EndToEnd.Tests.Reliability;

/// <summary>
/// The daemon against servers that require each kind of credential NATS offers, and TLS. Messages must arrive,
/// a wrong credential must be logged clearly while the daemon keeps retrying, and no secret may ever reach the
/// log (the daemon runs at debug level so that the most it ever writes is checked).
/// </summary>
[Collection("reliability")]
public sealed class SecurityFacts
{
    private static string TickConfig(string prefix) => TempConfig.Write($$"""
        name: secure
        subject_prefix: {{prefix}}
        schedules:
          - name: tick
            interval_seconds: 0.2
            task: {worker_type: w}
        """);

    /// <summary>Runs the daemon with <paramref name="args"/>, waits for two messages, and checks its whole log for the secrets.</summary>
    private static async Task DeliversWithoutLeakingAsync(NatsServer server, string url, NatsOpts observer, string[] args, params string[] secrets)
    {
        var prefix = TempConfig.UniqueName("sec");
        await using var seen = await Recorder.StartAsync(observer with { Url = server.Url }, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(TickConfig(prefix), url, [.. args, "--log-level", "debug"]);
        await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(15));
        await seen.WaitForAsync(2, TimeSpan.FromSeconds(15));
        var (code, _) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);
        AssertNoSecrets(daemon, secrets);
    }

    /// <summary>The user's creds file, as nsc writes it, in a folder of its own.</summary>
    private static async Task<string> CredsFileAsync(OperatorSetup setup)
    {
        var creds = Path.Combine(Directory.CreateTempSubdirectory("loomsched-creds-").FullName, "user.creds");
        await File.WriteAllTextAsync(creds, setup.CredsFile);
        return creds;
    }

    private static void AssertNoSecrets(Loomsched daemon, string[] secrets)
    {
        foreach (var secret in secrets)
        {
            Assert.False(daemon.Log.Contains(secret, StringComparison.Ordinal), $"the log holds a secret ({secret[..4]}…):\n{daemon.Log}");
        }
    }

    [Fact]
    public async Task User_and_password_in_the_url_authenticate()
    {
        const string password = "pw-Zq81-secret";
        await using var server = await NatsServer.StartWithConfigTextAsync($$"""authorization { user: loom, password: "{{password}}" }""");
        await DeliversWithoutLeakingAsync(server, $"nats://loom:{password}@127.0.0.1:{server.Port}",
            NatsOpts.Default with { AuthOpts = NatsAuthOpts.Default with { Username = "loom", Password = password } }, [], password);
    }

    [Fact]
    public async Task Token_in_the_url_authenticates()
    {
        const string token = "tok-88Hq-secret";
        await using var server = await NatsServer.StartWithConfigTextAsync($$"""authorization { token: "{{token}}" }""");
        await DeliversWithoutLeakingAsync(server, $"nats://{token}@127.0.0.1:{server.Port}",
            NatsOpts.Default with { AuthOpts = NatsAuthOpts.Default with { Token = token } }, [], token);
    }

    [Fact]
    public async Task Nkey_seed_file_authenticates()
    {
        var user = NKey.Create(PrefixByte.User);
        await using var server = await NatsServer.StartWithConfigTextAsync($$"""authorization { users: [ { nkey: {{user.PublicKey}} } ] }""");
        // As `nk -gen user` writes it: the seed alone.
        var seedFile = Path.Combine(Directory.CreateTempSubdirectory("loomsched-nkey-").FullName, "user.nk");
        await File.WriteAllTextAsync(seedFile, user.Seed + "\n");
        await DeliversWithoutLeakingAsync(server, $"nats://127.0.0.1:{server.Port}",
            NatsOpts.Default with { AuthOpts = NatsAuthOpts.Default with { NKey = user.PublicKey, Seed = user.Seed } },
            ["--nats-nkey", seedFile], user.Seed, user.Seed[2..]);
    }

    [Fact]
    public async Task Creds_file_of_an_operator_account_user_chain_authenticates()
    {
        var setup = OperatorSetup.Create();
        await using var server = await NatsServer.StartWithConfigTextAsync(setup.ServerConfig);
        var creds = await CredsFileAsync(setup);
        await DeliversWithoutLeakingAsync(server, $"nats://127.0.0.1:{server.Port}",
            NatsOpts.Default with { AuthOpts = NatsAuthOpts.Default with { CredsFile = creds } },
            ["--nats-creds", creds], setup.User.Seed, setup.UserJwt);
    }

    [Fact]
    public async Task Tls_with_a_private_ca_connects_and_mutual_tls_presents_the_client_certificate()
    {
        var pki = await Pki.CreateAsync();
        var observer = NatsOpts.Default with { TlsOpts = new NatsTlsOpts { CaFile = pki.CaCert, CertFile = pki.ClientCert, KeyFile = pki.ClientKey, Mode = TlsMode.Require } };

        await using (var server = await NatsServer.StartWithConfigTextAsync($$"""tls { cert_file: "{{pki.ServerCert}}", key_file: "{{pki.ServerKey}}" }"""))
        {
            await DeliversWithoutLeakingAsync(server, $"nats://127.0.0.1:{server.Port}", observer, ["--tls-ca", pki.CaCert]);
        }

        await using (var server = await NatsServer.StartWithConfigTextAsync($$"""tls { cert_file: "{{pki.ServerCert}}", key_file: "{{pki.ServerKey}}", ca_file: "{{pki.CaCert}}", verify: true }"""))
        {
            var clientKey = await File.ReadAllTextAsync(pki.ClientKey);
            await DeliversWithoutLeakingAsync(server, $"nats://127.0.0.1:{server.Port}", observer,
                ["--tls-ca", pki.CaCert, "--tls-cert", pki.ClientCert, "--tls-key", pki.ClientKey],
                clientKey.Split('\n')[1]);

            // Without its certificate, or without TLS settings at all, the daemon is refused: it says what to give, and retries.
            string url = $"nats://127.0.0.1:{server.Port}";
            await using var noCert = Loomsched.Run(TickConfig(TempConfig.UniqueName("nocert")), url, "--tls-ca", pki.CaCert);
            await using var noTls = Loomsched.Run(TickConfig(TempConfig.UniqueName("notls")), url);
            await OutageFacts.WaitForLogCountAsync(noCert, $"nats connect to {url} failed", 2, TimeSpan.FromSeconds(15));
            await OutageFacts.WaitForLogCountAsync(noTls, $"nats connect to {url} failed", 2, TimeSpan.FromSeconds(15));
            Assert.Contains(noCert.Stderr, l => l.Contains("failed (attempt 1): ", StringComparison.Ordinal) && l.Contains("--tls-cert and --tls-key", StringComparison.Ordinal));
            Assert.Contains(noTls.Stderr, l => l.Contains("failed (attempt 1): ", StringComparison.Ordinal) && l.Contains("--tls-ca", StringComparison.Ordinal));
            foreach (var refused in new[] { noCert, noTls })
            {
                Assert.False(refused.HasExited, refused.Log);
                Assert.DoesNotContain(refused.Stderr, l => l.Contains("nats connected", StringComparison.Ordinal));
            }
        }
    }

    /// <summary>The daemon delivers and <c>status</c> answers, each given the connection its own way.</summary>
    private static async Task DaemonAndStatusConnectAsync(
        NatsServer server, NatsOpts observer, IReadOnlyDictionary<string, string> daemonEnv, string[] daemonArgs,
        IReadOnlyDictionary<string, string> statusEnv, string[] statusArgs)
    {
        var prefix = TempConfig.UniqueName("env");
        await using var seen = await Recorder.StartAsync(observer with { Url = server.Url }, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Start(daemonEnv, ["run", "--config", TickConfig(prefix), .. daemonArgs]);
        await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(15));
        await seen.WaitForAsync(2, TimeSpan.FromSeconds(15));
        var (code, output, error) = await Loomsched.ExecAsync(statusEnv, ["status", "--name", "secure", "--subject-prefix", prefix, .. statusArgs]);
        Assert.True(code == 0, $"status exited {code}: {error}");
        Assert.Contains("secure", output);
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
    }

    [Fact]
    public async Task The_nats_clis_environment_and_spellings_reach_a_server_that_needs_creds()
    {
        var setup = OperatorSetup.Create();
        await using var server = await NatsServer.StartWithConfigTextAsync(setup.ServerConfig);
        var creds = await CredsFileAsync(setup);
        string url = $"nats://127.0.0.1:{server.Port}";
        var observer = NatsOpts.Default with { AuthOpts = NatsAuthOpts.Default with { CredsFile = creds } };
        // The daemon from NATS_URL and NATS_CREDS alone (a unit's Environment=, a container's -e); status as the nats CLI spells it.
        await DaemonAndStatusConnectAsync(server, observer,
            new Dictionary<string, string> { ["NATS_URL"] = url, ["NATS_CREDS"] = creds }, [],
            new Dictionary<string, string>(), ["-s", url, "--creds", creds]);
    }

    [Fact]
    public async Task The_nats_clis_environment_and_spellings_reach_a_server_that_needs_mutual_tls()
    {
        var pki = await Pki.CreateAsync();
        var observer = NatsOpts.Default with { TlsOpts = new NatsTlsOpts { CaFile = pki.CaCert, CertFile = pki.ClientCert, KeyFile = pki.ClientKey, Mode = TlsMode.Require } };
        await using var server = await NatsServer.StartWithConfigTextAsync($$"""tls { cert_file: "{{pki.ServerCert}}", key_file: "{{pki.ServerKey}}", ca_file: "{{pki.CaCert}}", verify: true }""");
        string url = $"nats://127.0.0.1:{server.Port}";
        // The daemon with the nats CLI's flags; status (as the health units run it) from NATS_CA, NATS_CERT and NATS_KEY.
        await DaemonAndStatusConnectAsync(server, observer,
            new Dictionary<string, string>(), ["--server", url, "--tlsca", pki.CaCert, "--tlscert", pki.ClientCert, "--tlskey", pki.ClientKey],
            new Dictionary<string, string> { ["NATS_URL"] = url, ["NATS_CA"] = pki.CaCert, ["NATS_CERT"] = pki.ClientCert, ["NATS_KEY"] = pki.ClientKey }, []);
    }

    [Fact]
    public async Task A_flag_wins_over_its_variable_and_a_bad_variable_is_named_in_the_usage_error()
    {
        var config = TickConfig(TempConfig.UniqueName("envbad"));
        var (code, _, error) = await Loomsched.ExecAsync(new Dictionary<string, string> { ["NATS_CREDS"] = "/nonexistent/user.creds" },
            "run", "--config", config, "--nats-url", "nats://127.0.0.1:1");
        Assert.Equal(2, code);
        Assert.Equal("loomsched: error: run: NATS_CREDS /nonexistent/user.creds: no such file", error.Trim());

        (code, _, error) = await Loomsched.ExecAsync(new Dictionary<string, string> { ["NATS_CREDS"] = "/nonexistent/user.creds" },
            "status", "--name", "x", "--nats-url", "nats://127.0.0.1:1", "--creds", "/also/missing.creds");
        Assert.Equal(2, code);
        Assert.Equal("loomsched: error: status: --nats-creds /also/missing.creds: no such file", error.Trim());
    }

    [Fact]
    public async Task Wrong_password_is_logged_clearly_and_the_daemon_keeps_retrying_without_exiting_or_leaking_it()
    {
        const string wrong = "wrong-Pw-4471";
        await using var server = await NatsServer.StartWithConfigTextAsync("""authorization { user: loom, password: "right-Pw-9902" }""");
        var prefix = TempConfig.UniqueName("badpw");
        await using var daemon = Loomsched.Run(TickConfig(prefix), $"nats://loom:{wrong}@127.0.0.1:{server.Port}", "--log-level", "debug");
        await Task.Delay(TimeSpan.FromSeconds(4));

        Assert.False(daemon.HasExited, $"the daemon exited on an auth error; log:\n{daemon.Log}");
        // One clear line per attempt (1, 2, 4, 8…): the server, with the credentials masked, the reason and what to check.
        string refused = $"warn nats connect to nats://***@127.0.0.1:{server.Port} failed (attempt {{0}}): the server refused the credentials (authorization violation); check the user and password or token";
        Assert.Contains(daemon.Stderr, l => l.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, refused, 1), StringComparison.Ordinal));
        Assert.Contains(daemon.Stderr, l => l.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, refused, 2), StringComparison.Ordinal));
        Assert.DoesNotContain(daemon.Stderr, l => l.Contains("nats connected", StringComparison.Ordinal));
        Assert.Contains(daemon.Stderr, l => l.Contains("fired tick", StringComparison.Ordinal)); // the schedules run meanwhile
        AssertNoSecrets(daemon, [wrong]);

        var (code, took) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);
        Assert.True(took < TimeSpan.FromSeconds(2), $"took {took.TotalMilliseconds:0} ms");
    }

    [Theory]
    [InlineData("core")]
    [InlineData("jetstream")]
    public async Task Messages_the_server_refuses_for_the_daemons_permissions_are_publish_errors_not_published(string publish)
    {
        // The server drops a publish the user may not make and says so (-ERR). With core publishing it still answers
        // the PING after it, and the daemon once counted such messages as published; with stream acks no PubAck comes,
        // and it once waited and sent them again for ever, holding up every message behind them.
        var prefix = TempConfig.UniqueName("deny");
        await using var server = await NatsServer.StartWithConfigTextAsync($$"""
            jetstream: enabled
            authorization {
              users: [
                { user: sched, password: "sched-pw", permissions: { publish: { deny: ["{{prefix}}.tasks.>"] } } }
                { user: test, password: "test-pw" }
              ]
            }
            """);
        var testOpts = NatsOpts.Default with { Url = server.Url, AuthOpts = NatsAuthOpts.Default with { Username = "test", Password = "test-pw" } };
        if (publish == "jetstream")
        {
            await using var admin = new NatsConnection(testOpts);
            await new NATS.Client.JetStream.NatsJSContext(admin).CreateStreamAsync(
                new NATS.Client.JetStream.Models.StreamConfig(prefix, [$"{prefix}.goals.>", $"{prefix}.tasks.>"]));
        }
        var config = TempConfig.Write($$"""
            name: deny
            subject_prefix: {{prefix}}
            publish: {{publish}}
            schedules:
              - name: goals
                interval_seconds: 3600
                goal: {instruction: x}
              - name: tasks
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: range
                expand_args: {count: 600}
              - name: later
                interval_seconds: 3600
                goal: {instruction: y}
            """);
        await using var seen = await Recorder.StartAsync(testOpts, $"{prefix}.>");
        string url = $"nats://sched:sched-pw@127.0.0.1:{server.Port}";
        await using var daemon = Loomsched.Run(config, url);
        await daemon.WaitForLogAsync("nats connected");
        foreach (var schedule in new[] { "goals", "tasks", "later" })
        {
            var (code, output, error) = await Loomsched.ExecAsync("trigger", schedule, "--name", "deny", "--subject-prefix", prefix, "--nats-url", url);
            Assert.True(code == 0, output + error);
        }
        await seen.WaitForAsync(1, TimeSpan.FromSeconds(10), "goals");
        await seen.WaitForAsync(1, TimeSpan.FromSeconds(4), "later"); // not held up behind the refused ones

        var (exit, _) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, exit);
        var (published, abandoned, dropped, errors) = Control.Stopped(daemon);
        Assert.Equal((2, 0, 0, 600), (published, abandoned, dropped, errors));
        Assert.Empty(seen.Of("tasks"));
        // The refusals are said in the daemon's words, with subject, count and schedule: a line per batch, not per message.
        var refusals = daemon.Stderr.Where(l => l.Contains(" error publish refused ", StringComparison.Ordinal)).ToList();
        Assert.All(refusals, l => Assert.Contains($"subject={prefix}.tasks.incoming: the server refused ", l));
        Assert.All(refusals, l => Assert.Contains("(Permissions Violation for Publish), of tasks slot=", l));
        Assert.InRange(refusals.Count, 1, 10);
        Assert.Equal(600, refusals.Sum(l => int.Parse(l.Split("the server refused ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.DoesNotContain(daemon.Stderr, l => l.Contains("Server error", StringComparison.Ordinal) || l.Contains("resending", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--nats-nkey", "UAPUBLICKEYONLY\n", "no user seed in the file")]
    [InlineData("--nats-nkey", "SUNOTAREALSEEDATALL\n", "not a valid nkey seed")]
    [InlineData("--nats-creds", "SUAJUNKSEED-secret-material\n", "not a creds file")]
    public async Task Unusable_nkey_or_creds_file_is_a_one_line_usage_error_that_never_quotes_the_file(string flag, string content, string message)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("loomsched-badcred-").FullName, "cred");
        await File.WriteAllTextAsync(file, content);
        var config = TickConfig(TempConfig.UniqueName("bad"));
        var (code, output, error) = await Loomsched.ExecAsync("run", "--config", config, "--nats-url", "nats://127.0.0.1:1", flag, file);
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal($"loomsched: error: run: {flag} {file}: ", error.TrimEnd('\n')[..($"loomsched: error: run: {flag} {file}: ".Length)]);
        Assert.Contains(message, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain(content.Trim(), error);
    }
}
