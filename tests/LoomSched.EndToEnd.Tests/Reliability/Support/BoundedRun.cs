using System.Diagnostics;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests.Reliability.Support;

/// <summary>
/// Runs a command of the published binary with its managed heap capped (the GC's hard limit, honoured by
/// NativeAOT): a run that would need more fails with an out-of-memory abort instead of passing unnoticed.
/// </summary>
public static class BoundedRun
{
    public const long HeapLimitBytes = 256L * 1024 * 1024;

    public static async Task<(int Code, string Out, string Err, TimeSpan Took)> ExecAsync(TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo(Repo.Binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        info.Environment["DOTNET_GCHeapHardLimit"] = HeapLimitBytes.ToString("X"); // hexadecimal, as the runtime reads it
        var watch = Stopwatch.StartNew();
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"loomsched {string.Join(' ', args.Select(a => a.Length > 80 ? a[..80] + "…" : a))} did not finish within {timeout.TotalSeconds} s");
        }
        return (p.ExitCode, await stdout, await stderr, watch.Elapsed);
    }
}
