using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests.Deploy;

/// <summary>
/// The daemon as systemd's Type=notify service: what it says on a real NOTIFY_SOCKET (a datagram socket this test
/// binds, as systemd does), and the syslog priorities it writes when stderr is journald's stream.
/// </summary>
[Collection("nats")]
public sealed class SystemdNotifyFacts(NatsFixture nats)
{
    /// <summary>A NOTIFY_SOCKET: every datagram the daemon sends, in order.</summary>
    private sealed class NotifySocket : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        private readonly List<(string Text, long At)> _seen = [];
        private readonly Task _reading;

        public NotifySocket()
        {
            Path = System.IO.Path.Combine(Directory.CreateTempSubdirectory("loomsched-notify-").FullName, "notify.sock");
            _socket.Bind(new UnixDomainSocketEndPoint(Path));
            _reading = Task.Run(Read);
        }

        public string Path { get; }

        public IReadOnlyList<(string Text, long At)> Seen
        {
            get
            {
                lock (_seen)
                {
                    return [.. _seen];
                }
            }
        }

        private void Read()
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    int n = _socket.Receive(buffer);
                    lock (_seen)
                    {
                        _seen.Add((Encoding.UTF8.GetString(buffer, 0, n), Stopwatch.GetTimestamp()));
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }

        /// <summary>Waits for a datagram holding <paramref name="assignment"/> after the first <paramref name="skip"/> ones.</summary>
        public async Task<string> WaitForAsync(string assignment, int skip = 0, TimeSpan? timeout = null)
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                var hit = Seen.Skip(skip).Select(s => s.Text).FirstOrDefault(t => t.Split('\n').Contains(assignment));
                if (hit is not null)
                {
                    return hit;
                }
                if (deadline.Elapsed > (timeout ?? TimeSpan.FromSeconds(15)))
                {
                    Assert.Fail($"no \"{assignment}\" on NOTIFY_SOCKET; it got:\n{string.Join("\n--\n", Seen.Select(s => s.Text))}");
                }
                await Task.Delay(20);
            }
        }

        public void Dispose()
        {
            _socket.Dispose();
            _reading.Wait(TimeSpan.FromSeconds(2));
        }
    }

    private static string TickConfig(string prefix, string interval = "0.5") => $$"""
        name: notified
        subject_prefix: {{prefix}}
        schedules:
          - name: tick
            interval_seconds: {{interval}}
            task: {worker_type: w}
        """;

    [Fact]
    public async Task Under_systemd_the_daemon_says_ready_reloading_watchdog_status_and_stopping()
    {
        using var notify = new NotifySocket();
        var prefix = TempConfig.UniqueName("sd");
        var config = TempConfig.Write(TickConfig(prefix));
        var env = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path, ["WATCHDOG_USEC"] = "2000000" };
        await using var daemon = Loomsched.Start(env, "run", "--config", config, "--nats-url", nats.Server.Url);

        // READY=1 once the control subject answers, with the counters in STATUS.
        string ready = await notify.WaitForAsync("READY=1");
        await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(2));
        Assert.Matches(@"STATUS=1 schedule\(s\); published \d+, pending \d+, dropped 0, publish errors 0; NATS connected", ready);
        var (code, _, error) = await Loomsched.ExecAsync("status", "--name", "notified", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
        Assert.True(code == 0, error);

        // WATCHDOG=1 from the timer loop, at least every half of WatchdogSec (1 s here).
        int before = notify.Seen.Count;
        await Task.Delay(TimeSpan.FromSeconds(4));
        var beats = notify.Seen.Skip(before).Where(s => s.Text.Split('\n').Contains("WATCHDOG=1")).Select(s => s.At).ToList();
        Assert.True(beats.Count >= 3, $"{beats.Count} WATCHDOG=1 in 4 s");
        Assert.All(beats.Zip(beats.Skip(1)), pair => Assert.True(Stopwatch.GetElapsedTime(pair.First, pair.Second) < TimeSpan.FromSeconds(1.9),
            $"a gap of {Stopwatch.GetElapsedTime(pair.First, pair.Second).TotalMilliseconds} ms between watchdog beats"));

        // SIGHUP: RELOADING=1 with the monotonic time, then READY=1. Type=notify-reload counts the reload done only
        // if MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds, no earlier than its own request.
        before = notify.Seen.Count;
        long askedUs = MonotonicMicroseconds();
        daemon.Signal(Signals.SIGHUP);
        string reloading = await notify.WaitForAsync("RELOADING=1", before);
        long reloadingUs = long.Parse(Assert.Single(reloading.Split('\n'), l => l.StartsWith("MONOTONIC_USEC=", StringComparison.Ordinal))["MONOTONIC_USEC=".Length..]);
        Assert.InRange(reloadingUs, askedUs, MonotonicMicroseconds());
        Assert.Contains("STATUS=1 schedule(s)", await notify.WaitForAsync("READY=1", before));

        // A refused config: still READY=1 (the old schedules run), and STATUS says why.
        await File.WriteAllTextAsync(config, "name: notified\nschedules: [{name: broken}]\n");
        before = notify.Seen.Count;
        daemon.Signal(Signals.SIGHUP);
        await notify.WaitForAsync("RELOADING=1", before);
        Assert.Contains("STATUS=reload refused: ", await notify.WaitForAsync("READY=1", before));

        // SIGTERM: STOPPING=1, then exit 0.
        before = notify.Seen.Count;
        var (exit, _) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, exit);
        await notify.WaitForAsync("STOPPING=1", before, TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task A_refused_reload_stays_in_the_status_line_until_a_reload_succeeds()
    {
        using var notify = new NotifySocket();
        var prefix = TempConfig.UniqueName("sdr");
        var config = TempConfig.Write(TickConfig(prefix));
        var env = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path, ["WATCHDOG_USEC"] = "2000000" };
        await using var daemon = Loomsched.Start(env, "run", "--config", config, "--nats-url", nats.Server.Url);
        await notify.WaitForAsync("READY=1");

        await File.WriteAllTextAsync(config, "name: notified\nschedules: [{name: broken}]\n");
        int before = notify.Seen.Count;
        daemon.Signal(Signals.SIGHUP);
        string refused = await notify.WaitForAsync("READY=1", before);
        Assert.Contains("STATUS=reload refused: ", refused);
        string said = $"; last reload refused: {config}:";
        Assert.Contains(said, refused);

        // The heartbeat refreshes STATUS about every second: each refresh still says it.
        int afterRefusal = notify.Seen.Count;
        await Task.Delay(TimeSpan.FromSeconds(3));
        var refreshed = Statuses(notify.Seen.Skip(afterRefusal));
        Assert.True(refreshed.Count >= 2, $"{refreshed.Count} STATUS refreshes in 3 s");
        Assert.All(refreshed, status => Assert.Contains(said, status));

        // A reload that succeeds ends it.
        await File.WriteAllTextAsync(config, TickConfig(prefix));
        before = notify.Seen.Count;
        daemon.Signal(Signals.SIGHUP);
        Assert.DoesNotContain("refused", await notify.WaitForAsync("READY=1", before));
        int afterSuccess = notify.Seen.Count;
        await Task.Delay(TimeSpan.FromSeconds(2));
        refreshed = Statuses(notify.Seen.Skip(afterSuccess));
        Assert.NotEmpty(refreshed);
        Assert.All(refreshed, status => Assert.DoesNotContain("refused", status));
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);

        static List<string> Statuses(IEnumerable<(string Text, long At)> seen) =>
            [.. seen.SelectMany(s => s.Text.Split('\n')).Where(l => l.StartsWith("STATUS=", StringComparison.Ordinal))];
    }

    [Fact]
    public async Task Without_nats_the_daemon_is_ready_after_ten_seconds_and_says_its_messages_wait()
    {
        using var notify = new NotifySocket();
        var config = TempConfig.Write(TickConfig(TempConfig.UniqueName("sdnone")));
        var env = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path };
        await using var daemon = Loomsched.Start(env, "run", "--config", config, "--nats-url", "nats://127.0.0.1:1");
        var started = Stopwatch.StartNew();
        string ready = await notify.WaitForAsync("READY=1", timeout: TimeSpan.FromSeconds(30));
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(9), $"ready after {started.Elapsed.TotalSeconds} s");
        Assert.Contains("STATUS=NATS not reached yet (nats://127.0.0.1:1): schedules fire and messages wait", ready);
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
    }

    [Fact]
    public async Task On_journalds_stream_each_line_starts_with_its_syslog_priority()
    {
        var config = TempConfig.Write(TickConfig(TempConfig.UniqueName("journal"), "3600"));
        // The shell hands its stderr (the test's pipe) to the daemon and names that pipe in JOURNAL_STREAM, as systemd
        // names the journal's socket.
        var info = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("""JOURNAL_STREAM="$(stat -L -c %d:%i /proc/self/fd/2)" exec "$0" run --config "$1" --nats-url "$2" --log-level debug""");
        info.ArgumentList.Add(Repo.Binary);
        info.ArgumentList.Add(config);
        info.ArgumentList.Add(nats.Server.Url);
        using var process = Process.Start(info)!;
        var lines = new List<string>();
        var reading = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        });
        var deadline = Stopwatch.StartNew();
        while (!Snapshot().Any(l => l.Contains("nats connected", StringComparison.Ordinal)) && deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(20);
        }
        Signals.Send(process.Id, Signals.SIGTERM);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await reading.WaitAsync(TimeSpan.FromSeconds(5));
        var all = Snapshot();
        Assert.Contains(all, l => l.StartsWith("<6>", StringComparison.Ordinal) && l.Contains(" info nats connected", StringComparison.Ordinal));
        Assert.Contains(all, l => l.StartsWith("<7>", StringComparison.Ordinal) && l.Contains(" debug ", StringComparison.Ordinal));
        Assert.All(all, l => Assert.Matches("^<[2-7]>", l));

        List<string> Snapshot()
        {
            lock (lines)
            {
                return [.. lines];
            }
        }
    }

    [Fact]
    public async Task Outside_systemd_lines_carry_no_priority()
    {
        var (code, _, error) = await Loomsched.ExecAsync("run", "--config", Repo.TestConfig("invalid/bad-priority.yaml"));
        Assert.Equal(2, code);
        Assert.DoesNotContain("<3>", error);
    }

    /// <summary>CLOCK_MONOTONIC in microseconds, read from the C library as systemd reads it.</summary>
    private static long MonotonicMicroseconds()
    {
        Assert.Equal(0, clock_gettime(1 /* CLOCK_MONOTONIC */, out var now));
        return now.Seconds * 1_000_000 + now.Nanoseconds / 1_000;
    }

    private readonly record struct Timespec(long Seconds, long Nanoseconds);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int clock_gettime(int clock, out Timespec time);
}
