using System.Diagnostics;

namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>
/// How a test runs a command to its end (the binary, the arm64 one under qemu, one in an image, or a tool such as
/// openssl or tar): one start info and one run, so that every command's output and timeout are handled alike.
/// </summary>
internal static class ChildProcess
{
    /// <summary>A start info for <paramref name="file"/>: its arguments one by one, stdout and stderr read by the test.</summary>
    public static ProcessStartInfo Info(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        return info;
    }

    /// <summary>
    /// Runs a command to its end with nothing on its stdin: exit code, stdout, stderr. One that outlives the timeout is
    /// killed: a hang fails.
    /// </summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(ProcessStartInfo info, TimeSpan timeout)
    {
        info.RedirectStandardInput = true; // never the test runner's: a command that reads it meets its end at once
        using var p = Process.Start(info)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{Command(info)} did not end within {timeout.TotalSeconds} s");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a command that must succeed (exit 0) and returns its stdout.</summary>
    public static async Task<string> RunCheckedAsync(ProcessStartInfo info, TimeSpan timeout)
    {
        var (code, stdout, stderr) = await RunAsync(info, timeout);
        Assert.True(code == 0, $"{Command(info)} exited {code}: {stderr}{stdout}");
        return stdout;
    }

    private static string Command(ProcessStartInfo info) =>
        string.Join(' ', info.ArgumentList.Select(a => a.Length > 80 ? a[..80] + "…" : a).Prepend(info.FileName));
}
