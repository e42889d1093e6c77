using LoomSched.Daemon.Logging;
using LoomSched.Daemon.Nats;
using Microsoft.Extensions.Logging;

namespace LoomSched.Daemon.Hosting;

/// <summary>What <c>loomsched run</c> was asked to do.</summary>
internal sealed record DaemonOptions
{
    public required string ConfigPath { get; init; }
    public required NatsSettings Nats { get; init; }
    public LogFormat LogFormat { get; init; } = LogFormat.Text;
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>How long a shutdown waits for running fires and the publish buffer.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary><c>--strict</c>: the config's notes are errors, at start and at every reload.</summary>
    public bool Strict { get; init; }

    /// <summary><c>--metrics-address HOST:PORT</c>: where <c>/metrics</c> and <c>/healthz</c> are served (none when null).</summary>
    public MetricsAddress? MetricsAddress { get; init; }
}
