using System.Runtime.InteropServices;
using LoomSched.Config;
using LoomSched.Control;
using LoomSched.Daemon.Coordination;
using LoomSched.Daemon.Nats;
using LoomSched.Daemon.RuntimeSchedules;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using LoomSched.Scheduling;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace LoomSched.Daemon.Hosting;

/// <summary>
/// The daemon: connects to NATS (retrying for ever, never blocking the schedules), runs the engine, serves the
/// control subject, reloads on SIGHUP, and on SIGTERM/SIGINT stops firing, lets running fires and the publish
/// buffer finish within the grace period, and says how many messages were sent and abandoned.
/// </summary>
internal sealed partial class SchedulerService(
    DaemonOptions options, SchedulerConfig config, IExpansionRegistry registry, NatsConnection connection,
    IServiceProvider services, ILoggerFactory loggers, TimeProvider time) : BackgroundService
{
    private readonly ILogger _log = loggers.CreateLogger("loomsched");
    private readonly Lock _reloadGate = new();
    private SchedulerEngine? _engine;
    private NatsDispatchPort? _port;
    private volatile bool _stopped;
    private LastReload? _lastReload;
    private ControlHandler? _handler;
    private RuntimeScheduleSet? _runtime;

    /// <summary>The connection's report: publishes the server refuses are handed from it to the publisher.</summary>
    public NatsConnectionReport? Report { get; init; }

    /// <summary>systemd's notifications (does nothing when not run by it).</summary>
    public ServiceManager? Manager { get; init; }

    /// <summary>How long READY=1 waits for NATS: past it the daemon is ready without it (schedules fire, messages wait).</summary>
    private static readonly TimeSpan ReadyWithoutNats = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarting(config.Name, config.Schedules.Count, options.Nats.RedactedUrl, config.ControlSubject);
        connection.ConnectionOpened += (_, _) => { LogNats("connected", options.Nats.RedactedUrl); return ValueTask.CompletedTask; };
        connection.ConnectionDisconnected += (_, _) =>
        {
            // Once stopped, nothing retries: a server that goes away with the daemon (Ctrl-C on both) is not news.
            if (!_stopped)
            {
                LogNats("disconnected; retrying", options.Nats.RedactedUrl);
            }
            return ValueTask.CompletedTask;
        };
        // The first connection is made while the engine is put together, not after. The client retries a failed
        // first attempt by itself (RetryOnInitialConnect) and the log says why; the task is only observed.
        _ = connection.ConnectAsync().AsTask().ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        await using var port = new NatsDispatchPort(connection, config.MaxPending, config.Publish == PublishMode.JetStream, _log);
        _port = port;
        if (Report is { } report)
        {
            report.PublishDenied = port.OnPublishDenied;
        }
        var coordinator = config.Coordination.Mode == CoordinationMode.None ? null : new Coordinator(config, connection, time, _log);
        coordinator?.Prepare();
        var engine = new SchedulerEngine(config, port, time, new EngineOptions
        {
            Registry = registry,
            Services = services,
            LoggerFactory = loggers,
            PreciseWakeLead = ReferenceEquals(time, TimeProvider.System) ? TimeSpan.FromMilliseconds(5) : TimeSpan.Zero,
            PreciseSleep = PreciseSleep.Sleep,
            SlotGate = coordinator?.Gate,
            IntervalAnchor = coordinator is null ? null : Coordinator.GridAnchor,
            Heartbeat = Manager is { Enabled: true } ? Beat : null,
            HeartbeatPeriod = Manager?.HeartbeatPeriod ?? TimeSpan.FromSeconds(5),
            // Without a watchdog the STATUS line is refreshed on the loop's own passes: an idle daemon never wakes.
            HeartbeatWakes = Manager is { HasWatchdog: true },
        });
        _engine = engine;
        var bucket = config.RuntimeSchedules is { } runtimeOptions ? new KvScheduleBucket(connection, runtimeOptions.Bucket, _log) : null;
        var runtime = _runtime = bucket is null ? null : new RuntimeScheduleSet(engine, config, registry, bucket) { Rejected = bucket.LogRejected };
        var handler = _handler = new ControlHandler(engine, Reload, Cli.Version, w =>
        {
            WriteHostStatus(w);
            coordinator?.WriteStatus(w);
            if (bucket is not null)
            {
                bucket.WriteStatus(w, runtime!);
            }
        })
        {
            Guard = coordinator is null ? null : coordinator.Refusal,
            Applied = coordinator is null ? null : coordinator.RecordPause,
            Runtime = runtime,
        };
        var responder = new ControlResponder(connection, handler, Reload, _log)
        {
            Version = Cli.Version,
            Stats = () => ServiceStats(engine, port),
            // A follower's refusal waits a little, so that the leader's answer reaches the requester first.
            RefusalDelay = () => coordinator?.Lease is { IsLeader: false } ? TimeSpan.FromMilliseconds(250) : TimeSpan.Zero,
            Durable = coordinator is null ? null : coordinator.WhenPausesRecorded,
            ProbeToken = coordinator is null ? Guid.NewGuid().ToString("N") : null,
        };
        // The bucket's schedules join the file's once NATS is up; the file's fire meanwhile.
        var runtimeWatch = bucket is null
            ? Task.CompletedTask
            : Task.Run(() => bucket.RunAsync(runtime!, stoppingToken), CancellationToken.None);
        var coordination = coordinator is null
            ? Task.CompletedTask
            : Task.Run(() => coordinator.RunAsync(engine, stoppingToken), CancellationToken.None);

        using var hangup = Hangup.Attach(() => _ = Task.Run(Reload, CancellationToken.None), out bool askedWhileStarting);
        if (askedWhileStarting)
        {
            // The file may have changed after it was read: the SIGHUPs that came meanwhile make one reload now.
            LogReloadAskedWhileStarting();
            _ = Task.Run(Reload, CancellationToken.None);
        }

        // Subscribing waits for the first connection; the schedules must not, so this runs beside the loop.
        var control = Task.Run(() => responder.ServeAsync(config, stoppingToken), CancellationToken.None);
        var probe = coordinator is null
            ? Task.Run(() => WarnIfTheNameAnswersAsync(responder.ProbeToken!, stoppingToken), CancellationToken.None)
            : Task.CompletedTask;
        var subjects = config.Schedules.Select(s => s.Template is GoalTemplate ? config.GoalSubject : config.TaskSubject).Distinct(StringComparer.Ordinal);
        _ = Task.Run(() => port.SayMissingStreamsAsync(subjects, responder.Subscribed, stoppingToken), CancellationToken.None);
        if (Manager is { Enabled: true } notify)
        {
            _ = NotifyReadyAsync(notify, responder.Subscribed, stoppingToken);
        }
        await engine.RunAsync(stoppingToken).ConfigureAwait(false);
        Manager?.Stopping();

        // One grace for the whole stop: running fires finish while the publisher drains the buffer beside them,
        // and the flush gets what the fires left of it (a fifth at least).
        var started = time.GetTimestamp();
        var grace = options.ShutdownGrace;
        // A second stop signal ends the process at once, as an operator pressing Ctrl-C twice expects. Taken before
        // the line that says so: a signal sent as soon as it shows must find the handler.
        using var secondTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => StopNow(c, port));
        using var secondInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => StopNow(c, port));
        LogStopping(grace.TotalSeconds, engine.FiresInFlight, port.Pending);
        var drain = await engine.DrainAsync(grace * 0.8).ConfigureAwait(false);
        var left = grace - time.GetElapsedTime(started);
        int unsent = await port.FlushAsync(left > grace * 0.2 ? left : grace * 0.2).ConfigureAwait(false);
        if (coordinator is not null)
        {
            // After the drain: the fires in flight finish as leader; then a follower may take over at once.
            await coordinator.ReleaseAsync().ConfigureAwait(false);
            try
            {
                await coordination.WaitAsync(TimeSpan.FromMilliseconds(200), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or NatsException)
            {
            }
        }
        // Every message built is in exactly one of: published (confirmed by the server), abandoned (cut by the
        // grace, in a fire or in the buffer), dropped (buffer full while NATS was away), publish_errors (refused).
        _stopped = true;
        LogStopped(port.Published, drain.Abandoned + unsent, port.Dropped, port.PublishErrors);
        try
        {
            await Task.WhenAll(control, probe, runtimeWatch).WaitAsync(TimeSpan.FromMilliseconds(200), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or NatsException)
        {
        }
    }

    private void StopNow(PosixSignalContext context, NatsDispatchPort port)
    {
        context.Cancel = true;
        // Logged as an error: such lines are written before the call returns, so before the exit.
        LogStoppedNow(context.Signal == PosixSignal.SIGINT ? "SIGINT" : "SIGTERM", port.Published, port.Pending);
        Environment.Exit(context.Signal == PosixSignal.SIGINT ? 130 : 143);
    }

    /// <summary>The status as numbers for <c>/metrics</c>, from the engine and the port; null while the service starts.</summary>
    public StatusNumbers? Numbers() => Volatile.Read(ref _handler) is null
        ? null
        : StatusNumbers.Of(_engine!.Status(), _port?.Counters);

    /// <summary>Where the timer loop stands against its plan (for <c>/healthz</c>); null while the service starts.</summary>
    public LoopProgress? LoopProgress => Volatile.Read(ref _engine)?.LoopProgress();

    /// <summary>Whether NATS is reached, in words (for <c>/healthz</c>).</summary>
    public string NatsState => connection.ConnectionState == NatsConnectionState.Open
        ? "NATS connected" : "NATS not connected (messages wait in the buffer)";

    /// <summary>The loop's heartbeat: systemd's watchdog and STATUS line.</summary>
    private void Beat()
    {
        if (Manager is { Enabled: true } manager)
        {
            manager.Beat(StatusLine());
        }
    }

    /// <summary>Reloads the config file and keeps the outcome for <c>status</c> (<c>last_reload</c>).</summary>
    private ReloadOutcome Reload()
    {
        Manager?.Reloading();
        var outcome = ReloadNow();
        Volatile.Write(ref _lastReload, new LastReload(time.GetUtcNow(), outcome));
        Manager?.Reloaded(outcome.Ok ? StatusLine() : $"reload refused: {outcome.Message}; {StatusLine()}");
        return outcome;
    }

    /// <summary>READY=1 once the control subject answers, or once the schedules have run without NATS for a while.</summary>
    private async Task NotifyReadyAsync(ServiceManager manager, Task subscribed, CancellationToken stoppingToken)
    {
        try
        {
            await subscribed.WaitAsync(ReadyWithoutNats, time, stoppingToken).ConfigureAwait(false);
            manager.Ready(StatusLine());
        }
        catch (TimeoutException)
        {
            // systemd would kill a daemon that waits past TimeoutStartSec; this one does its job meanwhile.
            manager.Ready($"NATS not reached yet ({options.Nats.RedactedUrl}): schedules fire and messages wait; {StatusLine()}");
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The counters of <c>status</c>, summed over the schedules, for the NATS service's stats (<c>nats micro stats</c>).</summary>
    private static System.Text.Json.Nodes.JsonNode ServiceStats(SchedulerEngine engine, NatsDispatchPort port)
    {
        var status = engine.Status();
        return new System.Text.Json.Nodes.JsonObject
        {
            ["scheduler"] = status.Name,
            ["schedules"] = status.Schedules.Count,
            ["paused"] = status.Schedules.Count(s => s.Paused),
            ["fires"] = status.Schedules.Sum(s => s.Fires),
            ["dispatched"] = status.Schedules.Sum(s => s.Dispatched),
            ["errors"] = status.Schedules.Sum(s => s.Errors),
            ["skipped"] = status.Schedules.Sum(s => s.Skipped),
            ["missed"] = status.Schedules.Sum(s => s.Missed),
            ["published"] = port.Published,
            ["pending"] = port.Pending,
            ["dropped"] = port.Dropped,
            ["publish_errors"] = port.PublishErrors,
        };
    }

    /// <summary>The STATUS= line: what systemctl status shows.</summary>
    private string StatusLine()
    {
        var engine = _engine;
        var port = _port;
        int schedules = engine?.Config.Schedules.Count ?? config.Schedules.Count;
        string line = port is null
            ? $"{schedules} schedule(s); starting"
            : $"{schedules} schedule(s); published {port.Published}, pending {port.Pending}, dropped {port.Dropped}, publish errors {port.PublishErrors}; NATS {(connection.ConnectionState == NatsConnectionState.Open ? "connected" : "not connected")}";
        // The file on disk is not what runs until a reload succeeds: every refresh keeps saying so.
        return Volatile.Read(ref _lastReload) is { Outcome: { Ok: false } refused }
            ? $"{line}; last reload refused: {UserText.Elide(refused.Errors.Count > 0 ? refused.Errors[0] : refused.Message, UserText.LongestShown)}"
            : line;
    }

    private sealed class LastReload(DateTimeOffset at, ReloadOutcome outcome)
    {
        public DateTimeOffset At { get; } = at;
        public ReloadOutcome Outcome { get; } = outcome;
    }

    private ReloadOutcome ReloadNow()
    {
        lock (_reloadGate)
        {
            var engine = _engine;
            if (engine is null)
            {
                return new ReloadOutcome(false, "the scheduler is still starting", []);
            }
            var result = ConfigLoader.LoadFile(options.ConfigPath, registry);
            if (options.Strict)
            {
                result = result.Strict();
            }
            if (!result.Success)
            {
                var errors = result.Errors.Select(e => e.ToString()).ToList();
                foreach (var e in errors)
                {
                    LogReloadError(e);
                }
                LogReloadRejected(options.ConfigPath, errors.Count);
                // The log has every error; the reply and the status, each one NATS message, the first ones.
                return new ReloadOutcome(false, $"{options.ConfigPath} has {errors.Count} error(s); the running schedules are unchanged",
                    UserText.Shortlist(errors, UserText.ErrorsListed));
            }
            var next = result.Config!;
            if (next.Name != engine.Config.Name || next.SubjectPrefix != engine.Config.SubjectPrefix)
            {
                const string why = "name and subject_prefix cannot change on reload (they form the subjects); restart the daemon to change them";
                LogReloadRejected(options.ConfigPath, 1);
                LogReloadError(why);
                return new ReloadOutcome(false, why, []);
            }
            // The bucket's schedules stay: the set puts the new file's in force beside them.
            var summary = _runtime is { } runtime ? runtime.ApplyFile(next) : engine.Reload(next);
            LoadGarbage.Release();
            // The buffer, the publish mode and the coordination are set up once: say so rather than ignore a change.
            string[] onRestart = [
                .. next.MaxPending != config.MaxPending ? ["max_pending"] : Array.Empty<string>(),
                .. next.Publish != config.Publish ? ["publish"] : Array.Empty<string>(),
                .. next.Coordination != config.Coordination ? ["coordination"] : Array.Empty<string>(),
                .. next.RuntimeSchedules != config.RuntimeSchedules ? ["runtime_schedules"] : Array.Empty<string>(),
            ];
            string note = "";
            if (onRestart.Length > 0)
            {
                LogRestartNeeded(string.Join(", ", onRestart));
                note = $"; {string.Join(", ", onRestart)} changed, in effect after a restart";
            }
            return new ReloadOutcome(true, $"reloaded {options.ConfigPath}: {summary}{note}", []);
        }
    }

    /// <summary>
    /// At start, a standalone daemon asks who answers on its control subject besides itself (its own responder lets a
    /// request with its probe token go): another daemon of the same name fires every schedule a second time (replicas
    /// share a name only with <c>coordination</c>). A warning, not a refusal: the old process of a restart may still be
    /// stopping. Skipped when NATS is not up at start; it runs beside the control subject, which it never delays.
    /// </summary>
    private async Task WarnIfTheNameAnswersAsync(string token, CancellationToken stoppingToken)
    {
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(stoppingToken).ConfigureAwait(false);
            if (connection.ConnectionState != NatsConnectionState.Open)
            {
                return;
            }
            var reply = await connection.RequestAsync(config.ControlSubject, """{"action":"status"}"""u8.ToArray(),
                headers: new NatsHeaders { [ControlResponder.ProbeHeader] = token },
                requestSerializer: NatsRawSerializer<byte[]>.Default, replySerializer: NatsRawSerializer<byte[]>.Default,
                replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromMilliseconds(500) },
                cancellationToken: stoppingToken).ConfigureAwait(false);
            string? started = null;
            try
            {
                using var status = System.Text.Json.JsonDocument.Parse(reply.Data ?? []);
                if (status.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                    && status.RootElement.TryGetProperty("started_at", out var startedAt)
                    && startedAt.ValueKind == System.Text.Json.JsonValueKind.String)
                {
                    started = startedAt.GetString();
                }
            }
            catch (System.Text.Json.JsonException)
            {
            }
            // Two lines, not one with an optional part: a JSON log gets the start time as a field of its own.
            if (started is null)
            {
                LogNameTaken(config.Name, config.ControlSubject);
            }
            else
            {
                LogNameTakenSince(config.Name, config.ControlSubject, started);
            }
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException or TimeoutException)
        {
            // No responders (the usual answer), no reply, no connection yet, or stopping: nothing to say.
        }
    }

    private void WriteHostStatus(System.Text.Json.Utf8JsonWriter w)
    {
        w.WriteString("config", options.ConfigPath);
        if (Volatile.Read(ref _lastReload) is { } reload)
        {
            // A reload asked by SIGHUP (systemctl reload) has no one to answer: this is where its outcome shows.
            w.WriteStartObject("last_reload");
            w.WriteString("at", LoomTime.Format(reload.At));
            w.WriteBoolean("ok", reload.Outcome.Ok);
            w.WriteString("result", reload.Outcome.Message);
            w.WriteStartArray("errors");
            foreach (var error in reload.Outcome.Errors)
            {
                w.WriteStringValue(error);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("last_reload");
        }
        w.WriteString("nats", connection.ConnectionState.ToString().ToLowerInvariant());
        if (_port is { } port)
        {
            w.WriteString("publish", port.StreamAcknowledged ? "jetstream" : "core");
            port.Counters.WriteTo(w);
        }
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Information,
        Message = "starting {Scheduler}: {Count} schedule(s), nats={Url}, control={Subject}")]
    private partial void LogStarting(string scheduler, int count, string url, string subject);

    [LoggerMessage(EventId = 46, Level = LogLevel.Warning,
        Message = "another scheduler named {Scheduler} answers on {Subject}: both fire every schedule; give each its own name, or run them as replicas with coordination mode leader or state")]
    private partial void LogNameTaken(string scheduler, string subject);

    [LoggerMessage(EventId = 49, Level = LogLevel.Warning,
        Message = "another scheduler named {Scheduler} answers on {Subject}, started {Started}: both fire every schedule; give each its own name, or run them as replicas with coordination mode leader or state")]
    private partial void LogNameTakenSince(string scheduler, string subject, string started);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "nats {State} ({Url})")]
    private partial void LogNats(string state, string url);

    [LoggerMessage(EventId = 42, Level = LogLevel.Information,
        Message = "stopped: published={Published} abandoned={Abandoned} dropped={Dropped} publish_errors={Errors}")]
    private partial void LogStopped(long published, long abandoned, long dropped, long errors);

    [LoggerMessage(EventId = 48, Level = LogLevel.Information,
        Message = "stopping: waiting up to {Grace} s for {Fires} running fire(s) and {Pending} message(s) to be sent; a second SIGTERM or SIGINT stops at once")]
    private partial void LogStopping(double grace, int fires, int pending);

    [LoggerMessage(EventId = 66, Level = LogLevel.Error,
        Message = "stopped at once by a second {Signal}: published={Published}, {Pending} message(s) not sent or not confirmed are abandoned")]
    private partial void LogStoppedNow(string signal, long published, int pending);

    [LoggerMessage(EventId = 43, Level = LogLevel.Error, Message = "reload rejected: {Path} has {Count} error(s); the running schedules are unchanged")]
    private partial void LogReloadRejected(string path, int count);

    [LoggerMessage(EventId = 44, Level = LogLevel.Error, Message = "reload: {Error}")]
    private partial void LogReloadError(string error);

    [LoggerMessage(EventId = 47, Level = LogLevel.Information, Message = "reload requested during start-up: reloading now")]
    private partial void LogReloadAskedWhileStarting();

    [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "reload: {Keys} changed; the running daemon keeps the old value until it restarts")]
    private partial void LogRestartNeeded(string keys);
}
