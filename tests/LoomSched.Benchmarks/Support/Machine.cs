using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace LoomSched.Benchmarks.Support;

/// <summary>What the numbers were measured on: they mean little without it.</summary>
internal static class Machine
{
    public static JsonObject Describe(NatsServer server) => new()
    {
        ["cpu"] = CpuModel(),
        ["cores"] = Environment.ProcessorCount,
        ["memory_mib"] = MemTotalKb() / 1024,
        ["os"] = RuntimeInformation.OSDescription,
        ["kernel"] = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : null,
        ["dotnet"] = RuntimeInformation.FrameworkDescription,
        ["nats_server"] = server.Version(),
        ["commit"] = Commit(),
        ["load_average_start"] = LoadAverage(),
        ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string? Commit()
    {
        try
        {
            var info = new System.Diagnostics.ProcessStartInfo("git", "rev-parse --short HEAD") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = System.Diagnostics.Process.Start(info)!;
            string text = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 ? text : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    public static string Summary(JsonObject m) =>
        $"machine: {m["cpu"]}, {m["cores"]} cores, {m["memory_mib"]} MiB; {m["kernel"]}; {m["nats_server"]}; commit {m["commit"]}; " +
        $"load average {m["load_average_start"]} at start, {m["load_average_end"]} at end";

    private static string CpuModel()
    {
        foreach (var line in File.ReadLines("/proc/cpuinfo"))
        {
            if (line.StartsWith("model name", StringComparison.Ordinal))
            {
                return line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static long MemTotalKb()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }
}
