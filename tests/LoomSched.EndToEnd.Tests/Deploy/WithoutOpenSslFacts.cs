using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;
using Xunit.Abstractions;

namespace LoomSched.EndToEnd.Tests.Deploy;

/// <summary>
/// The default (edge-host) binary on a host without OpenSSL: the image's file system (glibc, CA certificates, tzdata,
/// no libssl or libcrypto anywhere) with artifacts/loomsched in place of the image's own build, run with chroot.
/// Without TLS it runs; with TLS configured it stops before connecting, with one line naming the package to install,
/// where it used to abort ("No usable version of libssl was found", SIGABRT, a core dump) even without TLS.
/// </summary>
[Collection("nats")]
public sealed class WithoutOpenSslFacts(ITestOutputHelper output)
{
    [Fact]
    public async Task Default_binary_runs_publishes_and_stops_on_a_host_without_libssl_when_TLS_is_not_configured()
    {
        await using var server = await NatsServer.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        await client.ConnectAsync();
        await using var seen = await Captured.StartAsync(client, "loom.goals.incoming");
        using var host = await HostWithoutOpenSslAsync();
        var name = TempConfig.UniqueName("nossl");
        var config = host.AddFile("/etc/loomsched/scheduler.yaml", $$"""
            name: {{name}}
            schedules:
              - name: every_half_second
                interval_seconds: 0.5
                goal: {instruction: no openssl here}
            """);

        await using var daemon = host.Start(new Dictionary<string, string>(), "/loomsched", "run", "--config", config, "--nats-url", server.Url);
        await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(10));
        // Each message has a random UUID and the connection random inbox names: the generator .NET takes from OpenSSL.
        var goals = await seen.WaitForAsync(3, TimeSpan.FromSeconds(10));
        Assert.Equal(3, goals.Take(3).Select(g => g.Body.GetProperty("goal_id").GetString()).Distinct().Count());
        var env = new Dictionary<string, string> { ["NATS_URL"] = server.Url, ["LOOMSCHED_NAME"] = name };
        var (code, stdout, stderr) = await host.ExecAsync(env, "/loomsched", "status");
        Assert.True(code == 0, $"status without libssl exited {code}: {stdout}{stderr}");

        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        Assert.Contains("stopped: published=", daemon.Log);
        Assert.DoesNotContain("libssl", daemon.Log);
    }

    [Fact]
    public async Task Default_binary_with_TLS_configured_on_a_host_without_libssl_exits_with_one_line_naming_the_package()
    {
        var tls = Directory.CreateTempSubdirectory("loomsched-tls-").FullName;
        try
        {
            await TestCertificates.CreateAsync(tls);
            await using var server = await NatsServer.StartAsync(
                "--tls", "--tlscert", Path.Combine(tls, "server.pem"), "--tlskey", Path.Combine(tls, "server.key"));
            using var host = await HostWithoutOpenSslAsync();
            var config = host.AddFile("/etc/loomsched/scheduler.yaml", """
                name: nossl_tls
                schedules:
                  - name: hourly
                    cron: "0 * * * *"
                    goal: {instruction: hourly}
                """);
            var ca = host.AddFile("/run/secrets/ca.pem", File.ReadAllText(Path.Combine(tls, "ca.pem")));
            var url = $"tls://127.0.0.1:{server.Port}";

            // The daemon with a CA file, the daemon with a tls:// URL alone, and a CLI command: each one line, exit 2.
            string[][] commands =
            [
                ["/loomsched", "run", "--config", config, "--nats-url", $"nats://127.0.0.1:{server.Port}", "--tls-ca", ca],
                ["/loomsched", "run", "--config", config, "--nats-url", url],
                ["/loomsched", "status", "--name", "nossl_tls", "--nats-url", url],
            ];
            foreach (var command in commands)
            {
                var (code, stdout, stderr) = await host.ExecAsync(command);
                output.WriteLine($"{string.Join(' ', command.Skip(1))}: exit {code}: {stderr.Trim()}");
                Assert.True(code == 2, $"{command[1]} with TLS and no libssl exited {code} (134 is the old abort): {stdout}{stderr}");
                Assert.Equal("", stdout);
                var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                Assert.StartsWith($"loomsched: error: {command[1]}: TLS needs OpenSSL", line);
                Assert.Contains("install libssl3 (Debian, Ubuntu) or openssl-libs (RHEL, Fedora)", line);
            }

            // A nats:// URL configures no TLS: the daemon starts, stays plain text, and a server that requires TLS
            // refuses it; each retry's log line names the package instead of asking for a CA.
            await using var daemon = host.Start(new Dictionary<string, string>(), "/loomsched", "run", "--config", config, "--nats-url", $"nats://127.0.0.1:{server.Port}");
            await daemon.WaitForLogAsync("failed (attempt 1): the server requires TLS; TLS needs OpenSSL", TimeSpan.FromSeconds(10));
            Assert.Contains("install libssl3 (Debian, Ubuntu) or openssl-libs (RHEL, Fedora)", daemon.Log);
            Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        }
        finally
        {
            Directory.Delete(tls, recursive: true);
        }
    }

    /// <summary>The image's file system with the default binary in it; nothing in the tree is OpenSSL.</summary>
    private static async Task<ImageContainer> HostWithoutOpenSslAsync()
    {
        var host = await ImageContainer.CreateAsync();
        try
        {
            File.Copy(Repo.Binary, host.HostPath("/loomsched"), overwrite: true);
            var openssl = Directory.EnumerateFiles(host.Root, "*", SearchOption.AllDirectories)
                .Where(f => Path.GetFileName(f).StartsWith("libssl", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("libcrypto", StringComparison.Ordinal))
                .ToList();
            Assert.Empty(openssl);
            // This binary is the one that loads the host's OpenSSL (the image's own has it linked in).
            Assert.Contains("libssl.so.3", File.ReadAllText(host.HostPath("/loomsched"), System.Text.Encoding.Latin1));
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }
}
