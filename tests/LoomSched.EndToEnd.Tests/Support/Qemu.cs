using System.Collections.Concurrent;
using System.Diagnostics;

namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>
/// The linux-arm64 binary, run on this x64 machine under qemu's user-mode emulation (<c>qemu-aarch64-static -L /</c>:
/// the arm64 loader, glibc and libssl come from Debian's multiarch packages, as on an arm64 host).
/// </summary>
internal static class Qemu
{
    public const string Emulator = "qemu-aarch64-static";

    /// <summary>
    /// The published arm64 binary (<c>./build.sh dist</c> and <c>./build.sh test</c> put it in artifacts/linux-arm64/;
    /// LOOMSCHED_ARM64_BINARY overrides). A missing binary or emulator fails the test: it must never pass silently.
    /// </summary>
    public static string Arm64Binary
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("LOOMSCHED_ARM64_BINARY") is { Length: > 0 } env
                ? env
                : Path.Combine(Repo.Root, "artifacts", "linux-arm64", "loomsched");
            Assert.True(File.Exists(path), $"the linux-arm64 binary is missing at {path}: run ./build.sh dist (./build.sh test does it first)");
            Assert.True(OnPath(Emulator), $"{Emulator} is not on PATH: install qemu-user-static and libssl3:arm64 (./build.sh test does)");
            return path;
        }
    }

    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var info = new ProcessStartInfo(Emulator) { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var a in new[] { "-L", "/", Arm64Binary }.Concat(args))
        {
            info.ArgumentList.Add(a);
        }
        return info;
    }

    /// <summary>Runs the arm64 binary to completion: exit code, stdout, stderr.</summary>
    public static async Task<(int Code, string Out, string Err)> ExecAsync(params string[] args)
    {
        using var p = Process.Start(StartInfo(args))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (p.ExitCode, await stdout, await stderr);
    }

    private static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, command)));
}

/// <summary>The arm64 daemon under qemu, its stderr collected; qemu hands the signals sent to it to the daemon.</summary>
internal sealed class EmulatedDaemon : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stderr = new();

    public EmulatedDaemon(params string[] args)
    {
        _process = Process.Start(Qemu.StartInfo(args))!;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _stderr.Enqueue(e.Data); };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public string Log => string.Join('\n', _stderr);

    public async Task WaitForLogAsync(string fragment, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!_stderr.Any(l => l.Contains(fragment, StringComparison.Ordinal)))
        {
            Assert.False(_process.HasExited, $"the arm64 daemon exited ({(_process.HasExited ? _process.ExitCode : 0)}) before logging \"{fragment}\"; its log:\n{Log}");
            Assert.True(watch.Elapsed < timeout, $"the arm64 daemon did not log \"{fragment}\" within {timeout.TotalSeconds} s; its log:\n{Log}");
            await Task.Delay(20);
        }
    }

    /// <summary>Sends SIGTERM and waits for the exit; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        Signals.Send(_process.Id, Signals.SIGTERM);
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
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
