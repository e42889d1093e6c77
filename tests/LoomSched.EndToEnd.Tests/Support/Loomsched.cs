using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>
/// loomsched running as a child process, its output lines collected: the published binary, the arm64 one under qemu
/// (<see cref="Qemu"/>), or the image's in a container (<see cref="Deploy.ImageContainer"/>).
/// </summary>
public sealed class Loomsched : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly ConcurrentQueue<string> _stdout = new();

    private Loomsched(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _stderr.Enqueue(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _stdout.Enqueue(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public int Pid => _process.Id;
    public IReadOnlyList<string> Stderr => [.. _stderr];
    public string Log => string.Join('\n', _stderr);
    public IReadOnlyList<string> Stdout => [.. _stdout];
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <c>loomsched run</c> on a config file.</summary>
    public static Loomsched Run(string configPath, string natsUrl, params string[] extra) =>
        Start(["run", "--config", configPath, "--nats-url", natsUrl, .. extra]);

    public static Loomsched Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    /// <summary>Starts the binary with extra environment variables (NATS_CREDS, NOTIFY_SOCKET…).</summary>
    public static Loomsched Start(IReadOnlyDictionary<string, string> env, params string[] args) => StartBinary(Repo.Binary, env, args);

    /// <summary>Starts another build of the daemon (the user-functions sample's) with extra environment variables.</summary>
    public static Loomsched StartBinary(string binary, IReadOnlyDictionary<string, string> env, params string[] args) =>
        Start(ChildProcess.Info(binary, args, env));

    /// <summary>Starts loomsched as <paramref name="info"/> says (under qemu, in a container); its stdin is a pipe of its own.</summary>
    internal static Loomsched Start(ProcessStartInfo info)
    {
        info.RedirectStandardInput = true;
        return new Loomsched(Process.Start(info)!);
    }

    /// <summary>Runs a command to completion: exit code, stdout, stderr.</summary>
    public static Task<(int Code, string Out, string Err)> ExecAsync(params string[] args) => ExecAsync(new Dictionary<string, string>(), args);

    /// <summary>Runs a command to completion with extra environment variables (NATS_URL, LOOMSCHED_NAME…).</summary>
    public static Task<(int Code, string Out, string Err)> ExecAsync(IReadOnlyDictionary<string, string> env, params string[] args) =>
        ExecBinaryAsync(Repo.Binary, env, args);

    /// <summary>Runs a command of another build of the binary (the user-functions sample's) to completion.</summary>
    public static Task<(int Code, string Out, string Err)> ExecBinaryAsync(string binary, IReadOnlyDictionary<string, string> env, params string[] args) =>
        ChildProcess.RunAsync(ChildProcess.Info(binary, args, env), TimeSpan.FromSeconds(60));

    public async Task WaitForLogAsync(string fragment, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!_stderr.Any(l => l.Contains(fragment, StringComparison.Ordinal)))
        {
            if (deadline.Elapsed > (timeout ?? TimeSpan.FromSeconds(10)))
            {
                Assert.Fail($"the daemon did not log \"{fragment}\" in time; its log:\n{Log}");
            }
            if (_process.HasExited)
            {
                Assert.Fail($"the daemon exited ({_process.ExitCode}) before logging \"{fragment}\"; its log:\n{Log}");
            }
            await Task.Delay(20);
        }
    }

    public void Signal(int signal) => Signals.Send(_process.Id, signal);

    /// <summary>Waits until the process catches <paramref name="signal"/> (its SigCgt mask in /proc), polling each millisecond.</summary>
    public async Task WaitUntilItCatchesAsync(int signal, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        ulong bit = 1UL << (signal - 1);
        while (!_process.HasExited)
        {
            var caught = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("SigCgt:", StringComparison.Ordinal));
            if (caught is not null && (Convert.ToUInt64(caught["SigCgt:".Length..].Trim(), 16) & bit) != 0)
            {
                return;
            }
            if (deadline.Elapsed > (timeout ?? TimeSpan.FromSeconds(10)))
            {
                Assert.Fail($"the daemon did not catch signal {signal} in time; its log:\n{Log}");
            }
            await Task.Delay(1);
        }
        Assert.Fail($"the daemon exited ({_process.ExitCode}) before catching signal {signal}; its log:\n{Log}");
    }

    /// <summary>Sends SIGTERM and waits for the exit; returns the exit code and how long it took.</summary>
    public Task<(int Code, TimeSpan Took)> TerminateAsync(TimeSpan timeout) => TerminateWithAsync(Signals.SIGTERM, timeout);

    /// <summary>Sends <paramref name="signal"/> and waits for the exit; returns the exit code and how long it took.</summary>
    public async Task<(int Code, TimeSpan Took)> TerminateWithAsync(int signal, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        Signal(signal);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"the daemon did not exit within {timeout.TotalSeconds:0.#} s of signal {signal}; its log:\n{Log}");
        }
        return (_process.ExitCode, watch.Elapsed);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}

public static partial class Signals
{
    public static void Send(int pid, int signal)
    {
        if (kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;
}
