using LoomSched.Config;
using LoomSched.Daemon.Hosting;
using LoomSched.Daemon.Logging;
using LoomSched.Daemon.Nats;
using Microsoft.Extensions.Logging;

namespace LoomSched.Daemon;

internal static partial class Cli
{
    private static readonly string[] ConnectionFlags = ["--nats-url", "--nats-creds", "--nats-nkey", "--tls-ca", "--tls-cert", "--tls-key"];

    /// <summary>Each connection flag's environment variable, as the nats CLI reads them; a flag wins over its variable.</summary>
    private static readonly Dictionary<string, string> ConnectionEnvironment = new(StringComparer.Ordinal)
    {
        ["--nats-url"] = "NATS_URL",
        ["--nats-creds"] = "NATS_CREDS",
        ["--nats-nkey"] = "NATS_NKEY",
        ["--tls-ca"] = "NATS_CA",
        ["--tls-cert"] = "NATS_CERT",
        ["--tls-key"] = "NATS_KEY",
    };

    private static NatsSettings NatsFrom(CliArgs parsed, string command)
    {
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        string? Read(string flag)
        {
            if (parsed.Get(flag) is { } given)
            {
                return given;
            }
            string variable = ConnectionEnvironment[flag];
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
            {
                sources[flag] = variable;
                return value;
            }
            return null;
        }
        var settings = new NatsSettings
        {
            Url = Read("--nats-url") ?? NatsSettings.DefaultUrl,
            CredsFile = Read("--nats-creds"),
            NKeyFile = Read("--nats-nkey"),
            TlsCa = Read("--tls-ca"),
            TlsCert = Read("--tls-cert"),
            TlsKey = Read("--tls-key"),
            Sources = sources,
        };
        return settings.Problem() is { } problem ? throw new UsageException($"{command}: {problem}") : settings;
    }

    private static int RunDaemon(IEnumerable<string> args)
    {
        // The NATS client's first inbox name draws random bytes, whose first draw loads and initialises OpenSSL: begun
        // now on another thread, that work overlaps the config's load and the host's build instead of following them.
        ThreadPool.UnsafeQueueUserWorkItem(static _ =>
        {
            Span<byte> warm = stackalloc byte[8];
            System.Security.Cryptography.RandomNumberGenerator.Fill(warm);
        }, null);
        var parsed = CliArgs.Parse("run", args, [.. ConnectionFlags, "--config", "--log-format", "--log-level", "--shutdown-grace", "--strict", "--metrics-address"]);
        if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"run: unexpected argument \"{parsed.Positionals[0]}\"; the config goes after --config");
        }
        string path = parsed.Get("--config") switch
        {
            "" => throw new UsageException("run: --config is empty; name the config file"),
            { } given => given,
            null => Environment.GetEnvironmentVariable("LOOMSCHED_CONFIG") switch
            {
                "" => throw new UsageException("run: LOOMSCHED_CONFIG is empty; name the config file in it or with --config PATH"),
                { } variable => variable,
                null => throw new UsageException("run: name the config with --config PATH (or LOOMSCHED_CONFIG)"),
            },
        };
        var options = new DaemonOptions
        {
            ConfigPath = path,
            Nats = NatsFrom(parsed, "run"),
            LogFormat = parsed.Get("--log-format") switch
            {
                null or "text" => LogFormat.Text,
                "json" => LogFormat.Json,
                var other => throw new UsageException($"run: --log-format must be text or json, got \"{other}\""),
            },
            LogLevel = parsed.Get("--log-level") switch
            {
                null or "info" => LogLevel.Information,
                "debug" => LogLevel.Debug,
                "warn" => LogLevel.Warning,
                "error" => LogLevel.Error,
                var other => throw new UsageException($"run: --log-level must be debug, info, warn or error, got \"{other}\""),
            },
            ShutdownGrace = TimeSpan.FromSeconds(parsed.GetSeconds("run", "--shutdown-grace", 1.5, 0, 3600)),
            Strict = parsed.Has("--strict"),
            MetricsAddress = (parsed.Get("--metrics-address") ?? Environment.GetEnvironmentVariable("LOOMSCHED_METRICS_ADDRESS")) is { Length: > 0 } address
                ? MetricsAddress.Parse(address, out string? problem) ?? throw new UsageException($"run: {problem}")
                : null,
        };
        SchedulerConfig? config;
        if (options.LogFormat == LogFormat.Json)
        {
            // Whatever reads the log as JSON lines gets the config's notes and errors as such lines too.
            using var startLog = new LineLoggerProvider(LogFormat.Json, options.LogLevel, TimeProvider.System);
            config = LoadOrReport(path, startLog.CreateLogger("loomsched"), options.Strict);
        }
        else
        {
            config = LoadOrReport(path, strict: options.Strict);
        }
        if (config is null)
        {
            return 2;
        }
        LoadGarbage.Release();
        // On a two-core host the pool starts with two workers and adds one per half second when they are busy:
        // a brief blocking call (the loop's precise wake, a slow expansion) must not delay the next fire by that.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), Math.Max(io, 16));
        return DaemonHost.RunAsync(options, config, Registry()).GetAwaiter().GetResult();
    }
}
