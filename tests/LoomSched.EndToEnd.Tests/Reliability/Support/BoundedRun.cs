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
        // The limit in hexadecimal, as the runtime reads it.
        var info = ChildProcess.Info(Repo.Binary, args, new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = HeapLimitBytes.ToString("X") });
        var watch = Stopwatch.StartNew();
        var (code, stdout, stderr) = await ChildProcess.RunAsync(info, timeout);
        return (code, stdout, stderr, watch.Elapsed);
    }
}
