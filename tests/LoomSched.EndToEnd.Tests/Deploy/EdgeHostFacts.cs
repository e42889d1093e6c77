using System.Diagnostics;
using System.Text.RegularExpressions;
using LoomSched.EndToEnd.Tests.Support;
using Xunit.Abstractions;

namespace LoomSched.EndToEnd.Tests.Deploy;

/// <summary>
/// The edge host: <c>./build.sh install PREFIX</c> and the systemd units it installs. Without a running systemd,
/// the units are checked by <c>systemd-analyze verify</c>, and their sandbox by tracing the daemon.
/// </summary>
[Collection("nats")]
public sealed partial class EdgeHostFacts(ITestOutputHelper output)
{
    private static readonly string BuildSh = Path.Combine(Repo.Root, "build.sh");
    private static readonly string[] Units = ["loomsched.service", "loomsched-health.service", "loomsched-health.timer"];

    [Fact]
    public async Task Install_puts_the_binary_an_example_config_and_hardened_systemd_units_under_PREFIX()
    {
        var prefix = Directory.CreateTempSubdirectory("loomsched-install-").FullName;
        try
        {
            var (code, stdout, stderr) = await ShAsync(Repo.Root, null, BuildSh, "install", prefix);
            Assert.True(code == 0, $"./build.sh install exited {code}: {stdout}{stderr}");

            var binary = Path.Combine(prefix, "bin", "loomsched");
            (code, stdout, stderr) = await ShAsync(prefix, null, binary, "--version");
            Assert.True(code == 0 && stdout.StartsWith("loomsched ", StringComparison.Ordinal), $"{binary} --version: {code} {stdout}{stderr}");
            var example = Path.Combine(prefix, "etc", "loomsched", "scheduler.example.yaml");
            Assert.Equal(File.ReadAllText(Repo.Config("scheduler.example.yaml")), File.ReadAllText(example));
            (code, stdout, stderr) = await ShAsync(prefix, null, binary, "validate", example);
            Assert.True(code == 0, $"the installed binary rejects the installed example: {stdout}{stderr}");
            Assert.False(File.Exists(Path.Combine(prefix, "etc", "loomsched", "scheduler.yaml")),
                "install must not write the live config: nothing should publish until the operator writes one");

            var unitDir = Path.Combine(prefix, "lib", "systemd", "system");
            Assert.Equal(Units.Order(), Directory.GetFiles(unitDir).Select(Path.GetFileName).Order());
            foreach (var unit in Units)
            {
                Assert.DoesNotMatch("@(BINDIR|CONFDIR)@", File.ReadAllText(Path.Combine(unitDir, unit)));
            }

            var service = Settings(File.ReadAllText(Path.Combine(unitDir, "loomsched.service")), "Service");
            Assert.Equal([$"{prefix}/bin/loomsched run"], service["ExecStart"]);
            // The unit suits this host's systemd (Type=notify-reload needs 253). systemd runs the ExecReload lines in
            // order and fails the reload at the first that fails: a config that does not validate fails `systemctl
            // reload`; before 253 the SIGHUP is the second line, from 253 systemd sends it itself.
            int? hostSystemd = await HostSystemdAsync();
            output.WriteLine($"this host's systemd: {hostSystemd?.ToString() ?? "none"}");
            bool notifyReload = hostSystemd is null or >= 253;
            Assert.Equal([notifyReload ? "notify-reload" : "notify"], service["Type"]);
            Assert.Equal(notifyReload
                ? [$"{prefix}/bin/loomsched validate ${{LOOMSCHED_CONFIG}}"]
                : [$"{prefix}/bin/loomsched validate ${{LOOMSCHED_CONFIG}}", "/bin/kill -HUP $MAINPID"], service["ExecReload"]);
            string validate = service["ExecReload"].First().Split(' ')[0];
            (code, stdout, _) = await ShAsync(prefix, null, validate, "validate", example);
            Assert.True(code == 0, stdout);
            string broken = Repo.TestConfig("invalid/both-cron-and-interval.yaml");
            (code, stdout, _) = await ShAsync(prefix, null, validate, "validate", broken);
            Assert.Equal(2, code);
            Assert.Contains(": error: schedules[0].interval_seconds: ", stdout);
            Assert.Equal([$"LOOMSCHED_CONFIG={prefix}/etc/loomsched/scheduler.yaml"], service["Environment"]);
            Assert.Equal(["-/etc/default/loomsched"], service["EnvironmentFile"]);
            Assert.Equal(["on-failure"], service["Restart"]);
            Assert.Equal(["2"], service["RestartPreventExitStatus"]);
            foreach (var (key, value) in new[]
            {
                ("DynamicUser", "yes"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                ("PrivateTmp", "yes"), ("PrivateDevices", "yes"), ("CapabilityBoundingSet", ""), ("AmbientCapabilities", ""),
                ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"), ("SystemCallFilter", "@system-service"),
                ("MemoryDenyWriteExecute", "yes"), ("RestrictNamespaces", "yes"), ("LockPersonality", "yes"),
            })
            {
                Assert.True(service[key].Contains(value), $"loomsched.service: expected {key}={value}, found {string.Join(" | ", service[key])}");
            }
            var probe = Settings(File.ReadAllText(Path.Combine(unitDir, "loomsched-health.service")), "Service");
            Assert.Equal([$"{prefix}/bin/loomsched status --timeout 5"], probe["ExecStart"]);
            Assert.Equal(["-/etc/default/loomsched"], probe["EnvironmentFile"]);
            Assert.Equal(["oneshot"], probe["Type"]);

            await VerifyWithSystemdAsync(unitDir);
        }
        finally
        {
            Directory.Delete(prefix, recursive: true);
        }
    }

    [Theory]
    [InlineData("252", "notify", true)]
    [InlineData("253", "notify-reload", false)]
    [InlineData("257", "notify-reload", false)]
    public async Task Install_writes_a_notify_reload_unit_from_systemd_253_and_a_notify_unit_that_sends_SIGHUP_before(
        string systemd, string type, bool sighupLine)
    {
        var stage = Directory.CreateTempSubdirectory("loomsched-stage-").FullName;
        try
        {
            var (code, stdout, stderr) = await ShAsync(Repo.Root, new() { ["DESTDIR"] = stage, ["SYSTEMD_VERSION"] = systemd },
                BuildSh, "install", "/usr/local");
            Assert.True(code == 0, $"SYSTEMD_VERSION={systemd} ./build.sh install exited {code}: {stdout}{stderr}");
            string unit = File.ReadAllText(Path.Combine(stage, "usr/local/lib/systemd/system/loomsched.service"));
            var service = Settings(unit, "Service");
            Assert.Equal([type], service["Type"]);
            Assert.Equal(sighupLine
                ? ["/usr/local/bin/loomsched validate ${LOOMSCHED_CONFIG}", "/bin/kill -HUP $MAINPID"]
                : ["/usr/local/bin/loomsched validate ${LOOMSCHED_CONFIG}"], service["ExecReload"]);
            // Nothing else differs: the sandbox and the rest are the same lines.
            string other = File.ReadAllText(Path.Combine(Repo.Root, "packaging", "systemd", "loomsched.service"))
                .Replace("@BINDIR@", "/usr/local/bin").Replace("@CONFDIR@", "/usr/local/etc/loomsched");
            Assert.Equal(Lines(other).Where(l => !l.StartsWith("Type=", StringComparison.Ordinal)),
                Lines(unit).Where(l => !l.StartsWith("Type=", StringComparison.Ordinal) && l != "ExecReload=/bin/kill -HUP $MAINPID"));

            (code, _, stderr) = await ShAsync(Repo.Root, new() { ["DESTDIR"] = stage, ["SYSTEMD_VERSION"] = "latest" },
                BuildSh, "install", "/usr/local");
            Assert.Equal(2, code);
            Assert.Contains("SYSTEMD_VERSION must be a number such as 252, not 'latest'", stderr);
        }
        finally
        {
            Directory.Delete(stage, recursive: true);
        }

        static IEnumerable<string> Lines(string unit) => unit.Split('\n');
    }

    [Fact]
    public async Task Install_with_DESTDIR_stages_units_that_point_at_the_final_PREFIX_and_a_relative_PREFIX_is_refused()
    {
        var stage = Directory.CreateTempSubdirectory("loomsched-stage-").FullName;
        try
        {
            var (code, stdout, stderr) = await ShAsync(Repo.Root, new() { ["DESTDIR"] = stage }, BuildSh, "install", "/usr/local");
            Assert.True(code == 0, $"DESTDIR=... ./build.sh install /usr/local exited {code}: {stdout}{stderr}");
            Assert.True(File.Exists(Path.Combine(stage, "usr/local/bin/loomsched")), "the binary was not staged under DESTDIR");
            var unit = File.ReadAllText(Path.Combine(stage, "usr/local/lib/systemd/system/loomsched.service"));
            Assert.Contains("\nExecStart=/usr/local/bin/loomsched run\n", unit);
            Assert.Contains("\nEnvironment=LOOMSCHED_CONFIG=/usr/local/etc/loomsched/scheduler.yaml\n", unit);
            Assert.DoesNotContain(stage, unit);

            (code, _, stderr) = await ShAsync(Repo.Root, null, BuildSh, "install", "relative/prefix");
            Assert.Equal(2, code);
            Assert.Contains("absolute path", stderr);
        }
        finally
        {
            Directory.Delete(stage, recursive: true);
        }
    }

    [Fact]
    public async Task Daemon_makes_only_the_system_calls_sockets_and_memory_mappings_its_unit_allows()
    {
        var missing = await ToolOrWhyNotAsync("strace", "strace") ?? await ToolOrWhyNotAsync("systemd-analyze", "systemd");
        Assert.True(missing is null, $"cannot check the daemon against its unit's sandbox here: {missing}");
        var service = Settings(File.ReadAllText(Path.Combine(Repo.Root, "packaging", "systemd", "loomsched.service")), "Service");
        var allowed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var filter in service["SystemCallFilter"])
        {
            bool deny = filter.StartsWith('~');
            foreach (var entry in filter.TrimStart('~').Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var calls = await SyscallsAsync(entry);
                if (deny)
                {
                    allowed.ExceptWith(calls);
                }
                else
                {
                    allowed.UnionWith(calls);
                }
            }
        }
        Assert.Contains("openat", allowed);
        var families = service["RestrictAddressFamilies"].Single().Split(' ').ToHashSet();

        await using var server = await NatsServer.StartAsync();
        var work = Directory.CreateTempSubdirectory("loomsched-trace-").FullName;
        try
        {
            var name = TempConfig.UniqueName("traced");
            var config = Path.Combine(work, "scheduler.yaml");
            File.WriteAllText(config, $$"""
                name: {{name}}
                schedules:
                  - name: berlin_cron
                    cron: "* * * * * *"
                    time_zone: Europe/Berlin
                    goal: {instruction: traced}
                  - name: fanned_out
                    interval_seconds: 0.5
                    task: {worker_type: traced}
                    expand_from: range
                    expand_args: {count: 3}
                """);
            // Start, connect, fire, answer status, reload on SIGHUP, stop on SIGTERM: all under strace.
            var daemonTrace = Path.Combine(work, "daemon.trace");
            var info = new ProcessStartInfo("strace") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "-f", "-qq", "-o", daemonTrace, Repo.Binary, "run", "--config", config, "--nats-url", server.Url })
            {
                info.ArgumentList.Add(a);
            }
            using var strace = Process.Start(info)!;
            var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
            strace.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            strace.OutputDataReceived += (_, _) => { };
            strace.BeginErrorReadLine();
            strace.BeginOutputReadLine();
            try
            {
                await WaitForAsync(() => log.Any(l => l.Contains("fired fanned_out", StringComparison.Ordinal)) && log.Any(l => l.Contains("fired berlin_cron", StringComparison.Ordinal)),
                    TimeSpan.FromSeconds(15), () => string.Join('\n', log));
                var statusTrace = Path.Combine(work, "status.trace");
                var (code, stdout, stderr) = await ShAsync(work, null, "strace", "-f", "-qq", "-o", statusTrace, Repo.Binary, "status", "--name", name, "--nats-url", server.Url);
                Assert.True(code == 0, $"status under strace exited {code}: {stdout}{stderr}");
                int daemon = int.Parse(File.ReadAllText($"/proc/{strace.Id}/task/{strace.Id}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Single());
                Assert.Equal(0, Kill(daemon, Signals.SIGHUP));
                await WaitForAsync(() => log.Any(l => l.Contains("reloaded", StringComparison.Ordinal)), TimeSpan.FromSeconds(10), () => string.Join('\n', log));
                Assert.Equal(0, Kill(daemon, Signals.SIGTERM));
                await strace.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
                Assert.True(strace.ExitCode == 0, $"the traced daemon exited {strace.ExitCode}:\n{string.Join('\n', log)}");

                var trace = File.ReadAllText(daemonTrace) + File.ReadAllText(statusTrace);
                var used = SyscallName().Matches(trace).Select(m => m.Groups[1].Value).ToHashSet();
                output.WriteLine($"system calls made: {used.Count} ({string.Join(' ', used.Order())})");
                Assert.Empty(used.Except(allowed).Order());
                var sockets = SocketFamily().Matches(trace).Select(m => m.Groups[1].Value).ToHashSet();
                Assert.Contains("AF_INET", sockets);
                Assert.Empty(sockets.Except(families).Order());
                // MemoryDenyWriteExecute=yes refuses writable+executable mappings and making memory executable later.
                Assert.Empty(WritableExecutable().Matches(trace).Select(m => m.Value));
            }
            finally
            {
                if (!strace.HasExited)
                {
                    strace.Kill(entireProcessTree: true);
                }
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// <c>systemd-analyze verify</c> on the installed units: exit 0 and not one warning. If systemd-analyze cannot run
    /// in this container at all (it fails a trivial unit too), only this assertion is skipped, and the test output says so.
    /// </summary>
    private async Task VerifyWithSystemdAsync(string unitDir)
    {
        if (await ToolOrWhyNotAsync("systemd-analyze", "systemd") is { } missing)
        {
            output.WriteLine($"SKIPPED the systemd-analyze verify assertion: {missing}");
            return;
        }
        var control = Path.Combine(unitDir, "..", "control-check.service");
        File.WriteAllText(control, "[Unit]\nDescription=control\n[Service]\nType=oneshot\nExecStart=/bin/true\n");
        var (controlCode, controlOut, controlErr) = await ShAsync(unitDir, null, "systemd-analyze", "verify", control);
        File.Delete(control);
        if (controlCode != 0 || (controlOut + controlErr).Trim().Length > 0)
        {
            output.WriteLine($"SKIPPED the systemd-analyze verify assertion: systemd-analyze cannot run in this container " +
                $"(it rejects a trivial unit too, exit {controlCode}): {controlOut}{controlErr}");
            return;
        }
        var (code, stdout, stderr) = await ShAsync(unitDir, null, "systemd-analyze", ["verify", .. Units.Select(u => Path.Combine(unitDir, u))]);
        Assert.True(code == 0 && (stdout + stderr).Trim().Length == 0, $"systemd-analyze verify (exit {code}):\n{stdout}{stderr}");
        output.WriteLine($"systemd-analyze verify: {string.Join(", ", Units)} accepted");

        (_, stdout, _) = await ShAsync(unitDir, null, "systemd-analyze", "security", "--offline=true", Path.Combine(unitDir, "loomsched.service"));
        var exposure = stdout.Split('\n').LastOrDefault(l => l.Contains("Overall exposure level", StringComparison.Ordinal));
        output.WriteLine($"systemd-analyze security: {exposure?.Trim()}");
    }

    /// <summary>Null when <paramref name="command"/> is there (installing <paramref name="package"/> if needed), else why not.</summary>
    /// <summary>This host's systemd version from <c>systemctl --version</c>, or null without systemctl.</summary>
    private static async Task<int?> HostSystemdAsync()
    {
        var (code, stdout, _) = await ShAsync("/", null, "sh", "-c", "systemctl --version 2>/dev/null | head -n1");
        var words = stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return code == 0 && words.Length > 1 && int.TryParse(words[1], out int version) ? version : null;
    }

    private async Task<string?> ToolOrWhyNotAsync(string command, string package)
    {
        if ((await ShAsync("/", null, "sh", "-c", $"command -v {command}")).Code == 0)
        {
            return null;
        }
        output.WriteLine($"{command} is missing: installing {package} with apt");
        var (code, stdout, stderr) = await ShAsync("/", new() { ["DEBIAN_FRONTEND"] = "noninteractive" }, "sh", "-c",
            $"apt-get update -qq && apt-get install -y -qq --no-install-recommends {package}");
        if (code != 0 || (await ShAsync("/", null, "sh", "-c", $"command -v {command}")).Code != 0)
        {
            return $"{command} is missing and installing {package} failed (exit {code}): {stderr.Trim()}{stdout.Trim()}";
        }
        return null;
    }

    private static readonly Dictionary<string, HashSet<string>> SyscallSets = new(StringComparer.Ordinal);

    /// <summary>The system calls a SystemCallFilter entry names: a call, or a @set expanded recursively.</summary>
    private static async Task<HashSet<string>> SyscallsAsync(string entry)
    {
        if (!entry.StartsWith('@'))
        {
            return [entry];
        }
        if (SyscallSets.TryGetValue(entry, out var known))
        {
            return known;
        }
        var (code, stdout, stderr) = await ShAsync("/", null, "systemd-analyze", "syscall-filter", entry);
        Assert.True(code == 0, $"systemd-analyze syscall-filter {entry}: {stderr}");
        var calls = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in stdout.Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            calls.UnionWith(await SyscallsAsync(line));
        }
        return SyscallSets[entry] = calls;
    }

    /// <summary>The settings of one section of a unit file: key to every value it is given, in order.</summary>
    private static ILookup<string, string> Settings(string unit, string section)
    {
        var pairs = new List<(string Key, string Value)>();
        string? current = null;
        foreach (var line in unit.Split('\n').Select(l => l.Trim()))
        {
            if (line.StartsWith('['))
            {
                current = line.Trim('[', ']');
            }
            else if (current == section && line.Length > 0 && !line.StartsWith('#') && line.IndexOf('=') is > 0 and var eq)
            {
                pairs.Add((line[..eq], line[(eq + 1)..]));
            }
        }
        return pairs.ToLookup(p => p.Key, p => p.Value);
    }

    private static Task<(int Code, string Out, string Err)> ShAsync(string cwd, Dictionary<string, string>? env, string file, params string[] args)
    {
        var info = ChildProcess.Info(file, args, env);
        info.WorkingDirectory = cwd;
        return ChildProcess.RunAsync(info, TimeSpan.FromMinutes(5));
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < timeout, $"not within {timeout.TotalSeconds} s; the daemon's log:\n{describe()}");
            await Task.Delay(20);
        }
    }

    [GeneratedRegex(@"^\d+\s+([a-z_0-9]+)\(", RegexOptions.Multiline)]
    private static partial Regex SyscallName();

    [GeneratedRegex(@"\bsocket\((AF_[A-Z0-9]+)")]
    private static partial Regex SocketFamily();

    [GeneratedRegex(@"^\d+\s+(mmap\([^\n]*PROT_WRITE\|PROT_EXEC|mmap\([^\n]*PROT_EXEC\|PROT_WRITE|mprotect\([^\n]*PROT_EXEC|pkey_mprotect\([^\n]*PROT_EXEC)[^\n]*", RegexOptions.Multiline)]
    private static partial Regex WritableExecutable();

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
