using LoomSched.Config;
using LoomSched.Daemon.Hosting;
using LoomSched.Daemon.Logging;
using LoomSched.Daemon.Nats;
using LoomSched.Expansion;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace LoomSched.Daemon;

internal static partial class Cli
{
    private static readonly string[] ConnectionFlags = ["--nats-url", "--nats-creds", "--nats-nkey", "--tls-ca", "--tls-cert", "--tls-key"];

    private static NatsSettings NatsFrom(CliArgs parsed, string command)
    {
        var settings = new NatsSettings
        {
            Url = parsed.Get("--nats-url")
                ?? (Environment.GetEnvironmentVariable("NATS_URL") is { Length: > 0 } env ? env : NatsSettings.DefaultUrl),
            CredsFile = parsed.Get("--nats-creds"),
            NKeyFile = parsed.Get("--nats-nkey"),
            TlsCa = parsed.Get("--tls-ca"),
            TlsCert = parsed.Get("--tls-cert"),
            TlsKey = parsed.Get("--tls-key"),
        };
        return settings.Problem() is { } problem ? throw new UsageException($"{command}: {problem}") : settings;
    }

    private static int RunDaemon(IEnumerable<string> args)
    {
        var parsed = CliArgs.Parse("run", args, [.. ConnectionFlags, "--config", "--log-format", "--log-level", "--shutdown-grace"]);
        if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"run: unexpected argument \"{parsed.Positionals[0]}\"; the config goes after --config");
        }
        string path = parsed.Get("--config") ?? Environment.GetEnvironmentVariable("LOOMSCHED_CONFIG")
            ?? throw new UsageException("run: name the config with --config PATH (or LOOMSCHED_CONFIG)");
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
        };
        var config = LoadOrReport(path);
        if (config is null)
        {
            return 2;
        }
        // On a two-core host the pool starts with two workers and adds one per half second when they are busy:
        // a brief blocking call (the loop's precise wake, a slow expansion) must not delay the next fire by that.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), Math.Max(io, 16));
        return RunHostAsync(options, config, Registry()).GetAwaiter().GetResult();
    }

    private static async Task<int> RunHostAsync(DaemonOptions options, SchedulerConfig config, IExpansionRegistry registry)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(options.LogLevel);
        builder.Logging.AddProvider(new LineLoggerProvider(options.LogFormat, options.LogLevel, TimeProvider.System));
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(1));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp =>
        {
            // The client's connection messages become one line per failed attempt, in the daemon's words.
            var loggers = sp.GetRequiredService<ILoggerFactory>();
            var report = new NatsConnectionReport(options.Nats, loggers.CreateLogger("loomsched"));
            var connection = new NatsConnection(options.Nats.ToOpts($"loomsched {config.Name}", new NatsClientLog(loggers, report)));
            report.Attach(connection);
            return connection;
        });
        builder.Services.AddSingleton<INatsConnection>(sp => sp.GetRequiredService<NatsConnection>());
        builder.Services.AddHostedService<SchedulerService>();

        var host = builder.Build();
        try
        {
            await host.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            // The NATS connection is only async-disposable: the host must be disposed asynchronously.
            await ((IAsyncDisposable)host).DisposeAsync().ConfigureAwait(false);
        }
        return 0;
    }
}
