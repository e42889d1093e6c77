using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LoomSched.Benchmarks.Support;

/// <summary>
/// The published binary as a child process. Its stderr (the log) is copied in big blocks to a file, not parsed
/// while it runs, so the benchmark costs the daemon's host as little as possible; it is read after the run.
/// </summary>
internal sealed partial class Daemon : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task _copyErr;
    private readonly Task _copyOut;
    private readonly FileStream _log;

    private Daemon(Process process, string logPath)
    {
        _process = process;
        LogPath = logPath;
        _log = new FileStream(logPath, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        _copyErr = process.StandardError.BaseStream.CopyToAsync(_log);
        _copyOut = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
    }

    public int Pid => _process.Id;
    public string LogPath { get; }
    public bool HasExited => _process.HasExited;

    public static Daemon Start(string binary, string logPath, params string[] args)
    {
        var info = new ProcessStartInfo(binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        return new Daemon(Process.Start(info) ?? throw new InvalidOperationException($"{binary} did not start"), logPath);
    }

    public long RssKb => ProcSample.StatusValue(Pid, "VmRSS");
    public long PeakRssKb => ProcSample.StatusValue(Pid, "VmHWM");
    public long ThreadCount => ProcSample.StatusValue(Pid, "Threads");

    /// <summary>SIGTERM, then waits for the exit; returns how long it took (killed after <paramref name="timeout"/>).</summary>
    public async Task<TimeSpan> StopAsync(TimeSpan? timeout = null)
    {
        var watch = Stopwatch.StartNew();
        if (!_process.HasExited)
        {
            _ = kill(_process.Id, 15);
            try
            {
                await _process.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        var took = watch.Elapsed;
        await _copyErr;
        await _copyOut;
        await _log.FlushAsync();
        return took;
    }

    public IEnumerable<string> LogLines()
    {
        using var reader = new StreamReader(new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    public string LogTail(int lines = 20) => string.Join('\n', LogLines().TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        try
        {
            await _copyErr;
            await _copyOut;
        }
        catch (IOException)
        {
        }
        await _log.DisposeAsync();
        _process.Dispose();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
