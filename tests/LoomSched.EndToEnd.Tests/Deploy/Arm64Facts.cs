using System.Text.Json;
using System.Text.RegularExpressions;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;
using Xunit.Abstractions;

namespace LoomSched.EndToEnd.Tests.Deploy;

/// <summary>
/// The linux-arm64 binary, run under qemu's user-mode emulation. The subset chosen for emulation (every run costs
/// seconds there): what an edge host does first and most, each once — the version, the offline commands compared
/// output for output with the x64 binary (validate on every example, invalid and hostile config; next across a
/// daylight-saving change), the daemon publishing to a nats-server on loopback and stopping on SIGTERM, and a TLS
/// connection through the host's arm64 OpenSSL. The rest of the behaviour is the same C# compiled for another
/// instruction set, tested in full on the x64 binary.
/// In the "nats" collection so that the emulator never competes with the timing tests for the CPU.
/// </summary>
[Collection("nats")]
public sealed partial class Arm64Facts(ITestOutputHelper output)
{
    private const ushort MachineX64 = 62, MachineArm64 = 183;

    [Fact]
    public async Task Arm64_binary_is_an_aarch64_executable_needing_glibc_2_34_at_most_and_reports_the_x64_version()
    {
        var arm64 = Qemu.Arm64Binary;
        Assert.Equal(MachineArm64, ElfMachine(arm64));
        Assert.Equal(MachineX64, ElfMachine(Repo.Binary));
        // The README states glibc 2.34 or newer for both: no symbol version above it may creep in.
        foreach (var binary in new[] { arm64, Repo.Binary })
        {
            var newest = GlibcVersion().Matches(File.ReadAllText(binary, System.Text.Encoding.Latin1))
                .Select(m => int.Parse(m.Groups[1].Value)).Max();
            output.WriteLine($"{binary}: {new FileInfo(binary).Length:N0} bytes, needs GLIBC_2.{newest}");
            Assert.True(newest <= 34, $"{binary} needs GLIBC_2.{newest}, newer than the 2.34 the README states");
        }

        var (code, stdout, stderr) = await Qemu.ExecAsync("--version");
        Assert.True(code == 0, $"--version under qemu exited {code}: {stderr}");
        Assert.Equal((await Loomsched.ExecAsync("--version")).Out, stdout);
        Assert.StartsWith("loomsched ", stdout);
    }

    [Fact]
    public async Task Arm64_validate_and_next_print_exactly_what_the_x64_binary_prints_on_the_same_configs()
    {
        string[] examples = [Repo.Config("scheduler.example.yaml"), Repo.Config("loom.example.yaml")];
        var invalid = Directory.GetFiles(Repo.TestConfig("invalid"), "*.yaml").Order(StringComparer.Ordinal).ToArray();
        var hostile = Directory.GetFiles(Repo.TestConfig("hostile")).Order(StringComparer.Ordinal).ToArray();
        Assert.True(invalid.Length > 50 && hostile.Length > 5, "the test configs are missing");
        string[][] commands =
        [
            ["validate", .. examples],
            ["validate", "--strict", .. examples],
            ["validate", .. invalid],
            ["validate", .. hostile],
            // Europe's clocks go forward on 2027-03-28: the Berlin entries' slots cross it.
            ["next", examples[0], "--count", "5", "--from", "2027-03-27T00:00:00Z"],
            ["next", examples[1], "--count", "3", "--from", "2027-10-30T22:00:00Z"],
        ];
        foreach (var command in commands)
        {
            var x64 = await Loomsched.ExecAsync(command);
            var arm64 = await Qemu.ExecAsync(command);
            string what = $"{command[0]} {string.Join(' ', command.Skip(1).Take(2).Select(Path.GetFileName))}…";
            Assert.True(x64 == arm64, $"{what}: the binaries disagree\n--- x64 (exit {x64.Code})\n{x64.Out}{x64.Err}\n--- arm64 (exit {arm64.Code})\n{arm64.Out}{arm64.Err}");
            output.WriteLine($"{what}: exit {x64.Code}, {x64.Out.Length + x64.Err.Length} characters, identical");
        }
        Assert.True((await Loomsched.ExecAsync(["validate", .. invalid])).Code == 2, "the invalid configs should be refused");
    }

    [Fact]
    public async Task Arm64_daemon_publishes_to_NATS_on_loopback_answers_status_and_stops_on_SIGTERM()
    {
        await using var server = await NatsServer.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        await client.ConnectAsync();
        await using var seen = await Captured.StartAsync(client, "loom.tasks.incoming");
        var name = TempConfig.UniqueName("arm64");
        var config = TempConfig.Write($$"""
            name: {{name}}
            schedules:
              - name: fanned_out
                interval_seconds: 0.5
                task:
                  worker_type: arm64_worker
                  payload: {host: edge}
                expand_from: range
                expand_args: {count: 3}
            """);

        await using var daemon = Qemu.Start("run", "--config", config, "--nats-url", server.Url);
        await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(30));
        var tasks = await seen.WaitForAsync(6, TimeSpan.FromSeconds(15));
        Assert.All(tasks, t => Assert.Equal("arm64_worker", t.Body.GetProperty("worker_type").GetString()));
        Assert.All(tasks, t => Assert.Equal("fanned_out", t.Header("Loom-Schedule")));
        Assert.Equal([0, 1, 2], tasks.Take(3).Select(t => t.Body.GetProperty("payload").GetProperty("index").GetInt32()).Order());

        // The x64 CLI asks the arm64 daemon: the control protocol is the same on both.
        var (code, stdout, stderr) = await Loomsched.ExecAsync("status", "--name", name, "--nats-url", server.Url);
        Assert.True(code == 0, $"status of the arm64 daemon exited {code}: {stdout}{stderr}");
        using (var reply = JsonDocument.Parse(stdout))
        {
            Assert.Equal(name, reply.RootElement.GetProperty("scheduler").GetString());
        }

        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(15))).Code);
        Assert.Contains("stopped: published=", daemon.Log);
        output.WriteLine(daemon.Log);
    }

    [Fact]
    public async Task Arm64_daemon_connects_over_TLS_through_the_hosts_arm64_OpenSSL()
    {
        var tls = Directory.CreateTempSubdirectory("loomsched-tls-").FullName;
        try
        {
            await TestCertificates.CreateAsync(tls);
            await using var server = await NatsServer.StartAsync(
                "--tls", "--tlscert", Path.Combine(tls, "server.pem"), "--tlskey", Path.Combine(tls, "server.key"));
            var config = TempConfig.Write($$"""
                name: {{TempConfig.UniqueName("arm64_tls")}}
                schedules:
                  - name: hourly
                    cron: "0 * * * *"
                    goal: {instruction: hourly}
                """);
            await using var daemon = Qemu.Start("run", "--config", config,
                "--nats-url", $"tls://127.0.0.1:{server.Port}", "--tls-ca", Path.Combine(tls, "ca.pem"));
            await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(30));
            Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(15))).Code);
        }
        finally
        {
            Directory.Delete(tls, recursive: true);
        }
    }

    /// <summary>e_machine of an ELF file: 62 for x86-64, 183 for AArch64.</summary>
    private static ushort ElfMachine(string path)
    {
        var header = new byte[20];
        using (var file = File.OpenRead(path))
        {
            file.ReadExactly(header);
        }
        Assert.True(header[0] == 0x7F && header[1] == 'E' && header[2] == 'L' && header[3] == 'F' && header[4] == 2,
            $"{path} is not a 64-bit ELF file");
        return BitConverter.ToUInt16(header, 18);
    }

    [GeneratedRegex(@"GLIBC_2\.(\d+)")]
    private static partial Regex GlibcVersion();
}
