using System.Diagnostics;
using NATS.Client.Core;

namespace LoomSched.Benchmarks.Support;

/// <summary>What every suite shares: settings, the nats-server, a control connection and the report.</summary>
internal sealed class BenchContext(BenchSettings settings, NatsServer server, NatsConnection control, Report report)
{
    private int _runs;

    public BenchSettings Settings { get; } = settings;
    public NatsServer Server { get; } = server;
    public NatsConnection ControlConnection { get; } = control;
    public Report Report { get; } = report;
    public string Url => Server.Url;

    /// <summary>A fresh subject prefix per daemon run, so that no run hears another's messages.</summary>
    public string NewPrefix(string stem) => $"bench{Interlocked.Increment(ref _runs)}{stem}";

    public string WriteConfig(string fileName, string yaml)
    {
        var path = Path.Combine(Settings.WorkDir, fileName);
        File.WriteAllText(path, yaml);
        return path;
    }

    public string LogPath(string stem) => Path.Combine(Settings.WorkDir, $"{stem}-{_runs}.log");

    /// <summary>Starts <c>loomsched run</c> and waits until its control subject answers (status, or a probe).</summary>
    public async Task<(Daemon Daemon, TimeSpan Ready)> StartDaemonAsync(
        string configPath, string name, string prefix, TimeSpan timeout, bool probeOnly, params string[] extra)
    {
        var watch = Stopwatch.StartNew();
        var daemon = Daemon.Start(Settings.Binary, LogPath(name),
            ["run", "--config", configPath, "--nats-url", Url, .. extra]);
        try
        {
            var ready = await Control.WaitForStatusAsync(ControlConnection, $"{prefix}.scheduler.{name}", watch, timeout, daemon, probeOnly);
            return (daemon, ready);
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }
}
