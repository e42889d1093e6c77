using System.Runtime.InteropServices;
using LoomSched.Config;
using LoomSched.Daemon.Hosting;
using LoomSched.Daemon.Logging;
using LoomSched.Daemon.Nats;
using LoomSched.Expansion;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace LoomSched.Daemon;

/// <summary>
/// Runs the daemon's one <see cref="SchedulerService"/> the way the generic host ran it, without the host: the
/// host's dependency injection, configuration, options, file providers and metrics were 0.47 MB of a binary that
/// used none of them. What the daemon relied on is kept, step for step: SIGINT, SIGQUIT and SIGTERM start a
/// graceful stop (and further signals are ignored until it is done); the
/// service's StopAsync gets the shutdown grace plus one second; a service that fails is logged and stops the
/// daemon; objects are disposed in the reverse order of their creation, the log last; the exit code is 0, or 1 when the
/// service failed (so that systemd's <c>Restart=on-failure</c> starts it again); and the
/// host's debug lines (category <see cref="HostCategory"/>, events 1 to 4) are written as it wrote them.
/// </summary>
internal static partial class DaemonLifetime
{
    /// <summary>The generic host's log category, kept so that debug and JSON logs read as before.</summary>
    public const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    public static async Task<int> RunAsync(DaemonOptions options, SchedulerConfig config, IExpansionRegistry registry)
    {
        var time = TimeProvider.System;
        using var loggers = new LineLoggerFactory(new LineLoggerProvider(options.LogFormat, options.LogLevel, time));
        var hostLog = loggers.CreateLogger(HostCategory);
        LogStarting(hostLog);

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Action<PosixSignalContext> onSignal = context =>
        {
            // Cancelled: the process does not end at once, the stop below runs instead.
            context.Cancel = true;
            stop.TrySetResult();
        };
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, onSignal);
        using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, onSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal);

        // The client's connection messages become one line per failed attempt, in the daemon's words.
        var report = new NatsConnectionReport(options.Nats, loggers.CreateLogger("loomsched"));
        await using var connection = new NatsConnection(options.Nats.ToOpts($"loomsched {config.Name}", new NatsClientLog(loggers, report)));
        report.Attach(connection);
        var services = new DaemonServices(options, config, registry, connection, loggers, time);
        using var service = new SchedulerService(options, config, registry, connection, services, loggers, time)
        {
            Report = report,
            Manager = ServiceManager.FromEnvironment(),
        };

        await service.StartAsync(CancellationToken.None).ConfigureAwait(false);
        bool stopping = false;
        var failure = StopOnFailureAsync(service.ExecuteTask!, () => stopping, stop, hostLog);
        LogStarted(hostLog);

        await stop.Task.ConfigureAwait(false);
        stopping = true;
        report.Stopping = true;
        LogStopping(hostLog);
        using (var timeout = new CancellationTokenSource(options.ShutdownGrace + TimeSpan.FromSeconds(1)))
        {
            // Returns when the service has stopped or the timeout passes, whichever comes first; it never throws.
            await service.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        LogStopped(hostLog);
        return failure.IsCompletedSuccessfully && failure.Result ? 1 : 0;
    }

    /// <summary>True when the service failed (and the daemon stopped because of it).</summary>
    private static async Task<bool> StopOnFailureAsync(Task execution, Func<bool> stopping, TaskCompletionSource stop, ILogger hostLog)
    {
        try
        {
            await execution.ConfigureAwait(false);
            return false;
        }
#pragma warning disable CA1031 // Whatever the service throws is logged and stops the daemon, as the host did.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (stopping() && execution.IsCanceled && ex is OperationCanceledException)
            {
                return false;
            }
            LogServiceFailed(hostLog, ex);
            LogStoppingAfterFailure(hostLog);
            stop.TrySetResult();
            return true;
        }
    }

    [LoggerMessage(EventId = 1, EventName = "Starting", Level = LogLevel.Debug, Message = "Hosting starting")]
    private static partial void LogStarting(ILogger logger);

    [LoggerMessage(EventId = 2, EventName = "Started", Level = LogLevel.Debug, Message = "Hosting started")]
    private static partial void LogStarted(ILogger logger);

    [LoggerMessage(EventId = 3, EventName = "Stopping", Level = LogLevel.Debug, Message = "Hosting stopping")]
    private static partial void LogStopping(ILogger logger);

    [LoggerMessage(EventId = 4, EventName = "Stopped", Level = LogLevel.Debug, Message = "Hosting stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(EventId = 9, EventName = "BackgroundServiceFaulted", Level = LogLevel.Error, Message = "BackgroundService failed")]
    private static partial void LogServiceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 10, EventName = "BackgroundServiceStoppingHost", Level = LogLevel.Critical,
        Message = "the scheduler service failed; the daemon is stopping")]
    private static partial void LogStoppingAfterFailure(ILogger logger);

    /// <summary>Every logger writes through the one line logger, which applies the levels itself.</summary>
    private sealed class LineLoggerFactory(LineLoggerProvider provider) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => provider.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider) =>
            throw new NotSupportedException("the daemon logs through its line logger only");

        public void Dispose() => provider.Dispose();
    }

    /// <summary>
    /// What an expansion function can ask <see cref="ExpansionContext.GetService{T}"/> for: the objects the host
    /// used to register (the NATS connection above all), the logger factory and this provider.
    /// </summary>
    private sealed class DaemonServices(
        DaemonOptions options, SchedulerConfig config, IExpansionRegistry registry, NatsConnection connection,
        ILoggerFactory loggers, TimeProvider time) : IServiceProvider
    {
        public object? GetService(Type serviceType) =>
            serviceType == typeof(INatsConnection) || serviceType == typeof(NatsConnection) ? connection
            : serviceType == typeof(ILoggerFactory) ? loggers
            : serviceType == typeof(TimeProvider) ? time
            : serviceType == typeof(SchedulerConfig) ? config
            : serviceType == typeof(DaemonOptions) ? options
            : serviceType == typeof(IExpansionRegistry) ? registry
            : serviceType == typeof(IServiceProvider) ? this
            : null;
    }
}
