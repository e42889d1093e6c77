using LoomSched.Config;
using LoomSched.Daemon.Logging;
using LoomSched.Daemon.Nats;
using LoomSched.Expansion;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace LoomSched.Daemon.Hosting;

/// <summary>
/// Runs the daemon on the generic host: the host's lifetime stops it on SIGTERM, SIGINT and SIGQUIT, its container
/// hands expansion functions the services registered here and in <see cref="ExpansionServices"/>, and its logging
/// writes through the one line logger.
/// </summary>
internal static partial class DaemonHost
{
    /// <summary>Runs until a stop signal; 0 then, 1 when the scheduler service failed (systemd's Restart=on-failure).</summary>
    public static async Task<int> RunAsync(DaemonOptions options, SchedulerConfig config, IExpansionRegistry registry)
    {
        // Outlives the host, so that the host's own last lines (and a failure's stack trace) are written.
        using var lines = new LineLoggerProvider(options.LogFormat, options.LogLevel, TimeProvider.System);
        // Named here, the host does not read the entry assembly's name through reflection metadata at every start.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ApplicationName = "loomsched" });
        // Environment variables are the configuration an expansion function's options bind from (IOptions<T>).
        builder.Configuration.AddEnvironmentVariables();
        // The host's own settings and logging, registered as they are: resolved through the open generic options
        // services, their types are built by NativeAOT at run time, at every start, in time and resident memory.
        // The log is the line logger alone, at the level of --log-level.
        builder.Services.AddSingleton<ILoggerFactory>(new LoggerFactory([lines], new LoggerFilterOptions { MinLevel = options.LogLevel }));
        builder.Services.AddSingleton(Options.Create(new ConsoleLifetimeOptions { SuppressStatusMessages = true }));
        builder.Services.AddSingleton(Options.Create(new HostOptions { ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(1) }));
        // The builder's AddMetrics starts System.Diagnostics.Metrics listeners from the options' start-up validation,
        // for metrics this binary never records. An expansion service's ValidateOnStart adds the validator back.
        builder.Services.RemoveAll<IStartupValidator>();

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(config);
        services.AddSingleton(registry);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(ServiceManager.FromEnvironment());
        services.AddSingleton(sp => new NatsConnectionReport(options.Nats, sp.GetRequiredService<ILoggerFactory>().CreateLogger("loomsched")));
        services.AddSingleton(sp =>
        {
            // The client's connection messages become one line per failed attempt, in the daemon's words.
            var report = sp.GetRequiredService<NatsConnectionReport>();
            var connection = new NatsConnection(options.Nats.ToOpts($"loomsched {config.Name}",
                new NatsClientLog(sp.GetRequiredService<ILoggerFactory>(), report)));
            report.Attach(connection);
            return connection;
        });
        services.AddSingleton<INatsConnection>(sp => sp.GetRequiredService<NatsConnection>());
        services.AddSingleton(sp => new SchedulerService(options, config, registry, sp.GetRequiredService<NatsConnection>(),
            sp, sp.GetRequiredService<ILoggerFactory>(), TimeProvider.System)
        {
            Report = sp.GetRequiredService<NatsConnectionReport>(),
            Manager = sp.GetRequiredService<ServiceManager>(),
        });
        services.AddHostedService(sp => sp.GetRequiredService<SchedulerService>());
        if (options.MetricsAddress is { } address)
        {
            services.AddSingleton(sp => new MetricsEndpoint(address, sp.GetRequiredService<SchedulerService>(),
                sp.GetRequiredService<ILogger<MetricsEndpoint>>()));
            services.AddHostedService(sp => sp.GetRequiredService<MetricsEndpoint>());
        }
        ExpansionServices.Add(services, builder.Configuration);

        var host = builder.Build();
        var scheduler = host.Services.GetRequiredService<SchedulerService>();
        if (options.MetricsAddress is not null && !host.Services.GetRequiredService<MetricsEndpoint>().TryListen(out string? problem))
        {
            // A port in use is the operator's to fix: one line, no stack trace; exit 1 (a restart may find it free).
            LogCannotStart(lines.CreateLogger("loomsched"), problem!);
            await DisposeAsync(host, lines.CreateLogger("loomsched")).ConfigureAwait(false);
            return 1;
        }
        // Closing the connection cancels the client's socket loops, which it logs as errors: none while stopping.
        var report = host.Services.GetRequiredService<NatsConnectionReport>();
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => report.Stopping = true);
        // Runs until the lifetime stops it, then disposes the host (and the NATS connection with it).
        try
        {
            await host.StartAsync().ConfigureAwait(false);
            await host.WaitForShutdownAsync().ConfigureAwait(false);
        }
        catch (OptionsValidationException)
        {
            // An expansion service's ValidateOnStart refused its options: the host's line says which and why; like an
            // invalid config, exit 2 (a restart cannot help until the settings change).
            return 2;
        }
        finally
        {
            await DisposeAsync(host, lines.CreateLogger("loomsched")).ConfigureAwait(false);
        }
        return scheduler.ExecuteTask is { IsFaulted: true } ? 1 : 0;
    }

    /// <summary>How long the exit waits for the host's disposal, once every message is accounted for.</summary>
    private static readonly TimeSpan DisposeBound = TimeSpan.FromSeconds(0.5);

    /// <summary>
    /// Disposes the host, waiting at most <see cref="DisposeBound"/>: over a slow link the NATS client's last commands
    /// wait behind what it still has to write, up to its command timeout per subscription, and then it throws.
    /// </summary>
    private static async Task DisposeAsync(IHost host, ILogger log)
    {
        var disposing = ((IAsyncDisposable)host).DisposeAsync().AsTask();
        try
        {
            await disposing.WaitAsync(DisposeBound).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or NatsException or OperationCanceledException)
        {
            LogCloseCut(log, DisposeBound.TotalSeconds, ex is TimeoutException ? "it still writes what it holds" : ex.Message);
        }
    }

    [LoggerMessage(EventId = 67, Level = LogLevel.Information,
        Message = "the NATS connection did not close within {Seconds} s ({Reason}); exiting without it")]
    private static partial void LogCloseCut(ILogger logger, double seconds, string reason);

    [LoggerMessage(EventId = 61, Level = LogLevel.Critical, Message = "{Problem}; not started")]
    private static partial void LogCannotStart(ILogger logger, string problem);
}
