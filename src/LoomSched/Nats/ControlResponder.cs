using System.Text.Json;
using LoomSched.Config;
using LoomSched.Control;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.Services;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// Serves the control subject <c>{p}.scheduler.{name}</c> (request-reply, every request answered) and
/// listens on the broadcast <c>{p}.control.reload</c>. The protocol itself is <see cref="ControlHandler"/>'s.
/// </summary>
internal sealed partial class ControlResponder(INatsConnection connection, ControlHandler handler, Func<ReloadOutcome> reload, ILogger log)
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    /// <summary>The name under which the NATS Services API lists every loomsched daemon.</summary>
    public const string ServiceName = "loomsched";

    /// <summary>The version the service reports.</summary>
    public required string Version { get; init; }

    /// <summary>The scheduler's counters, as the service's stats carry them in <c>data</c>.</summary>
    public Func<System.Text.Json.Nodes.JsonNode>? Stats { get; init; }

    /// <summary>How long to hold back an error reply (replicas: a follower lets the leader answer first).</summary>
    public Func<TimeSpan>? RefusalDelay { get; init; }

    /// <summary>
    /// What a reply waits for, up to <see cref="DurableWait"/>: with coordination, the pauses and resumes carried out so
    /// far being recorded in the state bucket, so that "paused" is said once the next leader would know it.
    /// </summary>
    public Func<Task>? Durable { get; init; }

    /// <summary>
    /// The most a reply waits for <see cref="Durable"/>: a state bucket that is slow or away delays the answer this much,
    /// then it goes (the record is still attempted, and a failure logged), well within a requester's usual 2 s.
    /// </summary>
    public static readonly TimeSpan DurableWait = TimeSpan.FromSeconds(1);

    /// <summary>The header of a daemon's start-up probe for another scheduler of its name (<see cref="ProbeToken"/>).</summary>
    public const string ProbeHeader = "Loomsched-Probe";

    /// <summary>A request whose <see cref="ProbeHeader"/> is this (this daemon's own probe) goes unanswered.</summary>
    public string? ProbeToken { get; init; }

    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the server has the control subject's subscription (the daemon answers requests).</summary>
    public Task Subscribed => _subscribed.Task;

    public Task ServeAsync(SchedulerConfig config, CancellationToken stoppingToken) =>
        Task.WhenAll(ServeControlAsync(config, stoppingToken), ServeReloadAsync(config, stoppingToken));

    /// <summary>
    /// The control subject as the endpoint <c>control</c> of the NATS service <see cref="ServiceName"/>: <c>nats micro
    /// ls|info|stats</c> find the daemon, with its counters in the stats. No queue group: every replica hears each
    /// request (followers refuse a moment after the leader answers).
    /// </summary>
    private async Task ServeControlAsync(SchedulerConfig config, CancellationToken stoppingToken)
    {
        try
        {
            var service = await new NatsSvcContext(connection).AddServiceAsync(new NatsSvcConfig(ServiceName, Version)
            {
                Description = $"loomsched scheduler {config.Name}: control and status on {config.ControlSubject}",
                Metadata = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["scheduler"] = config.Name,
                    ["subject_prefix"] = config.SubjectPrefix,
                },
                UseQueueGroup = false,
                StatsHandler = Stats is null ? null : _ => Stats(),
            }, stoppingToken).ConfigureAwait(false);
            await using (service.ConfigureAwait(false))
            {
                await service.AddEndpointAsync<byte[]>(
                    msg => AnswerAsync(msg, stoppingToken), name: "control", subject: config.ControlSubject,
                    serializer: Raw, cancellationToken: stoppingToken).ConfigureAwait(false);
                try
                {
                    // The PONG comes after the server has taken the SUBs: from now on a request is answered.
                    await connection.PingAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (NatsException)
                {
                    // The connection dropped meanwhile: the subscriptions are made again on the next one.
                }
                _subscribed.TrySetResult();
                await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async ValueTask AnswerAsync(NatsSvcMsg<byte[]> msg, CancellationToken stoppingToken)
    {
        if (ProbeToken is not null && msg.Headers is { } headers && headers.TryGetValue(ProbeHeader, out var probe)
            && probe == ProbeToken)
        {
            return;
        }
        byte[] reply;
        try
        {
            reply = await handler.HandleAsync(msg.Data ?? [], stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && stoppingToken.IsCancellationRequested))
        {
            // A bug of ours must not silence the control subject: answer and go on.
            reply = ControlHandler.Error($"internal error: {ex.GetType().Name}: {ex.Message}");
        }
        if (msg.ReplyTo is null)
        {
            return;
        }
        if (Durable?.Invoke() is { IsCompleted: false } recorded)
        {
            try
            {
                await recorded.WaitAsync(DurableWait, stoppingToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
        if (RefusalDelay?.Invoke() is { } delay && delay > TimeSpan.Zero && reply.AsSpan().StartsWith("{\"ok\":false"u8))
        {
            await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
        }
        await ReplyAsync(msg, reply, stoppingToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a reply; one the server refuses (a status of 100,000 schedules is over its max_payload) is replaced
    /// by a short error, so that the requester hears why and the control subject keeps serving.
    /// </summary>
    private Task ReplyAsync(NatsSvcMsg<byte[]> msg, byte[] reply, CancellationToken stoppingToken) =>
        ReplyAsync(r => msg.ReplyAsync(r, serializer: Raw, cancellationToken: stoppingToken), reply, stoppingToken);

    private Task ReplyAsync(NatsMsg<byte[]> msg, byte[] reply, CancellationToken stoppingToken) =>
        ReplyAsync(r => msg.ReplyAsync(r, serializer: Raw, cancellationToken: stoppingToken), reply, stoppingToken);

    private async Task ReplyAsync(Func<byte[], ValueTask> send, byte[] reply, CancellationToken stoppingToken)
    {
        try
        {
            await send(reply).ConfigureAwait(false);
        }
        catch (NatsException ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogReplyFailed(reply.Length, ex.Message);
            try
            {
                await send(ControlHandler.Error(
                    $"the reply ({reply.Length} bytes) could not be sent: {ex.Message}; raise the server's max_payload or ask for less")).ConfigureAwait(false);
            }
            catch (NatsException)
            {
                // The connection itself is gone: the next request comes on the next one.
            }
        }
    }

    private async Task ServeReloadAsync(SchedulerConfig config, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var msg in connection.SubscribeAsync(config.ReloadSubject, serializer: Raw, cancellationToken: stoppingToken).ConfigureAwait(false))
            {
                if (!IsReloadRequest(msg.Data))
                {
                    continue;
                }
                if ((config.AllowedControl & ControlActions.Reload) == 0)
                {
                    LogReloadRefused(config.ReloadSubject);
                    continue;
                }
                var outcome = reload();
                if (msg.ReplyTo is not null)
                {
                    await ReplyAsync(msg, ControlHandler.Reply(outcome), stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    // Loom broadcasts {"action": "reload"}; anything else on the subject is not for us.
    private static bool IsReloadRequest(byte[]? body)
    {
        if (body is null || body.Length == 0 || body.Length > ControlHandler.MaxRequestBytes)
        {
            return body is { Length: 0 };
        }
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("action", out var a)
                && a.ValueKind == JsonValueKind.String && a.GetString() == "reload";
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not JSON, or an action holding half a surrogate pair (no string can): not a reload, and the
            // subscription must live on for the next broadcast.
            return false;
        }
    }

    [LoggerMessage(EventId = 31, Level = LogLevel.Warning, Message = "control reply of {Bytes} bytes not sent: {Reason}")]
    private partial void LogReplyFailed(int bytes, string reason);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "reload on {Subject} ignored: control.actions does not allow reload")]
    private partial void LogReloadRefused(string subject);
}
