using System.Globalization;
using LoomSched.Dispatch;
using LoomSched.Publishing;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// Writes batches to the NATS connection with their headers, ties them to the connection they went out on, and
/// leaves their confirmation to the <see cref="IBatchConfirmer"/> of the publish mode.
/// </summary>
/// <remarks>
/// The client's hook before each connection attempt cancels the session, so a publish waiting inside the client fails
/// at once instead of going out on the new connection ahead of the resend. What the client already held in its write
/// buffer it does send on the new connection, before the resend: around a reconnect, messages may arrive out of
/// order (never lost), and core subscribers may see a resent message twice.
/// </remarks>
internal sealed class NatsPublishTransport : IPublishTransport
{
    private static readonly NatsRawSerializer<ReadOnlyMemory<byte>> Raw = NatsRawSerializer<ReadOnlyMemory<byte>>.Default;

    private readonly INatsConnection _connection;
    private readonly IBatchConfirmer _confirmer;
    private readonly PublishBuffer _buffer;
    private readonly ILogger _log;
    private readonly Func<(string Host, int Port), ValueTask<(string Host, int Port)>>? _previousHook;
    private readonly NatsHeaders _headers = []; // the publisher's own (SendAsync)
    private readonly Lock _gate = new();
    private PublishSession? _session; // under _gate

    public NatsPublishTransport(INatsConnection connection, IBatchConfirmer confirmer, PublishBuffer buffer, ILogger log)
    {
        _connection = connection;
        _confirmer = confirmer;
        _buffer = buffer;
        _log = log;
        _previousHook = connection.OnConnectingAsync;
        connection.OnConnectingAsync = OnConnectingAsync;
    }

    public bool IsOpen => _connection.ConnectionState == NatsConnectionState.Open;

    public Task ReadyAsync(PublishBatch next, CancellationToken stop) => _confirmer.ReadyAsync(next, stop);

    /// <summary>
    /// The session's token is cancelled by the client's reconnect hook, which runs before any new connection exists.
    /// </summary>
    public PublishSession? BeginSession(CancellationToken stop)
    {
        // A new connection brings a new INFO, hence a new ServerInfo object: it tells the connections apart.
        var info = _connection.ServerInfo;
        var session = new PublishSession(info, stop);
        lock (_gate)
        {
            _session = session;
        }
        _confirmer.SessionBegun();
        // Checked after registering: a drop from here on finds the session and cancels it; an earlier one shows
        // as a closed or different connection.
        if (!IsOpen || !ReferenceEquals(info, _connection.ServerInfo))
        {
            EndSession(session);
            session.Cancel();
            session.Dispose();
            return null;
        }
        return session;
    }

    public void EndSession(PublishSession session)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_session, session))
            {
                _session = null;
            }
        }
    }

    public async Task<bool> SendAsync(PublishBatch batch, PublishSession session, CancellationToken stop)
    {
        var messages = batch.Messages;
        var headers = _headers;
        string? schedule = null, slot = null;
        // Messages over the server's max_payload are said once per run of one schedule, slot and subject in the batch
        // (a fan-out whose every message is too large is thousands of them), with how many: the first, and the count.
        DispatchMessage? tooLarge = null;
        string? tooLargeReason = null;
        int tooLargeCount = 0;
        _confirmer.Begin(batch);
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            // One header set serves every message: the client writes the headers out before PublishAsync returns,
            // and the next message is set only after this one's PublishAsync has completed.
            // The messages of a fire share their schedule and slot (the same strings): set when they change.
            if (!ReferenceEquals(message.ScheduleName, schedule))
            {
                headers["Loom-Schedule"] = schedule = message.ScheduleName;
            }
            if (!ReferenceEquals(message.ScheduledFor, slot))
            {
                headers["Loom-Scheduled-For"] = slot = message.ScheduledFor;
            }
            headers["Nats-Msg-Id"] = message.MessageId;
            try
            {
                await _connection.PublishAsync(
                        message.Subject, message.Body, headers, replyTo: _confirmer.ReplySubject(batch, i), serializer: Raw,
                        cancellationToken: session.Token)
                    .ConfigureAwait(false);
            }
            catch (NatsPayloadTooLargeException ex)
            {
                // The client checks the server's max_payload before writing: retrying cannot help. The message
                // is counted, and it leaves the batch.
                _buffer.CountRefused();
                if (tooLarge is not null && !(ReferenceEquals(tooLarge.ScheduleName, message.ScheduleName)
                    && ReferenceEquals(tooLarge.ScheduledFor, message.ScheduledFor) && tooLarge.Subject == message.Subject))
                {
                    SayTooLarge(tooLarge, tooLargeReason!, tooLargeCount);
                    tooLargeCount = 0;
                }
                if (tooLargeCount++ == 0)
                {
                    tooLarge = message;
                    tooLargeReason = ex.Message;
                }
                _confirmer.Forget(batch, i);
                messages.RemoveAt(i--);
                message.ReleaseBody();
            }
            catch (Exception ex) when (ex is NatsException or OperationCanceledException or ObjectDisposedException && !stop.IsCancellationRequested)
            {
                // The connection went away under the write: the batch goes again on the next session.
                _confirmer.End(batch);
                SayTooLarge(tooLarge, tooLargeReason, tooLargeCount);
                return false;
            }
        }
        SayTooLarge(tooLarge, tooLargeReason, tooLargeCount);
        return true;
    }

    public Task<bool> ConfirmAsync(PublishBatch batch, PublishSession session, CancellationToken stop) =>
        _confirmer.ConfirmAsync(batch, session, stop);

    public void Confirmed(PublishBatch batch)
    {
        _confirmer.Confirmed(batch);
        if (batch.TakeDenied() is { } denied)
        {
            ReportDenied(denied);
        }
    }


    // The client's hook before every connection attempt: the connection the batches were sent on is gone. Without
    // this, a publish that waits inside the client for the next connection would go out on it ahead of the
    // messages lost with the old one, and overtake them.
    private ValueTask<(string Host, int Port)> OnConnectingAsync((string Host, int Port) target)
    {
        PublishSession? session;
        lock (_gate)
        {
            session = _session;
        }
        session?.Cancel();
        return _previousHook?.Invoke(target) ?? ValueTask.FromResult(target);
    }

    private void SayTooLarge(DispatchMessage? first, string? reason, int count)
    {
        if (first is not null && count > 0)
        {
            _log.LogPublishFailed(first.ScheduleName, first.ScheduledFor, first.Subject,
                count == 1 ? reason! : count.ToString(CultureInfo.InvariantCulture) + " messages refused, each over the server's max_payload; the first: " + reason);
        }
    }

    /// <summary>
    /// Says which messages of a batch the server refused: a line per subject, with the count and the schedules (a
    /// thousand schedules due at once make one line, not a thousand).
    /// </summary>
    private void ReportDenied(List<DispatchMessage> denied)
    {
        foreach (var subject in denied.Select(m => m.Subject).Distinct(StringComparer.Ordinal))
        {
            var of = denied.Where(m => m.Subject == subject).ToList();
            var schedules = of.Select(m => m.ScheduleName).Distinct(StringComparer.Ordinal).ToList();
            string names = schedules.Count <= 3
                ? string.Join(", ", schedules)
                : $"{string.Join(", ", schedules.Take(3))} and {schedules.Count - 3} more";
            _log.LogPublishDenied(subject, of.Count, names, of[0].ScheduledFor);
        }
    }
}
