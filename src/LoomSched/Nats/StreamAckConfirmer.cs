using System.Globalization;
using LoomSched.Dispatch;
using LoomSched.Publishing;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// <c>publish: jetstream</c>: every message goes out with its own reply subject under one inbox, and the stream that
/// captures its subject answers with a PubAck once it stored it: only then is it safe from the loss of the NATS node it
/// went through. A refusal for good (no stream on the subject, a limit of the stream) is counted and logged; a stream
/// that cannot answer yet (503: no leader), no stream answering at all or no answer in time sends the batch, and those
/// after it, again. The copy a stream may already hold carries the same <c>Nats-Msg-Id</c> and is dropped by it.
/// </summary>
internal sealed class StreamAckConfirmer : IBatchConfirmer
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SubscribeRetry = TimeSpan.FromMilliseconds(200);
    private static readonly NatsRawSerializer<byte[]> Bytes = NatsRawSerializer<byte[]>.Default;

    private readonly INatsConnection _connection;
    private readonly PublishBuffer _buffer;
    private readonly ILogger _log;
    private readonly string _prefix;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, (StreamAckSend Send, DispatchMessage Message)> _awaiting = []; // under _lock
    private readonly Task<INatsSub<byte[]>> _subscribed;
    private readonly Task _reader;
    private readonly StreamPresence _streams;
    private long _next; // the publisher's; read under _lock elsewhere
    private long _deniedFrom; // under _lock: the reply number after the last message the server refused (OnDenied)

    public StreamAckConfirmer(INatsConnection connection, PublishBuffer buffer, ILogger log, CancellationToken stop)
    {
        _connection = connection;
        _buffer = buffer;
        _log = log;
        // Under the inbox prefix that deployments' permissions allow for replies, but not under the connection's
        // own inbox (the client routes those through its request muxer, which takes one token only).
        _prefix = $"{connection.Opts.InboxPrefix}.ack{Guid.NewGuid():N}.";
        _streams = new StreamPresence(connection, buffer, log);
        _subscribed = Task.Run(() => SubscribeAsync(stop), CancellationToken.None);
        _reader = Task.Run(() => ReadAsync(stop), CancellationToken.None);
    }

    /// <summary>
    /// Completes once the inbox is subscribed, so that no answer can come before anyone listens, and a stream
    /// captures the subjects of <paramref name="next"/>.
    /// </summary>
    public async Task ReadyAsync(PublishBatch next, CancellationToken stop)
    {
        await _subscribed.WaitAsync(stop).ConfigureAwait(false);
        await _streams.WaitForStreamsAsync(next, stop).ConfigureAwait(false);
    }

    public void SessionBegun()
    {
    }

    /// <summary>Says at start which of the subjects no stream captures (see <see cref="StreamPresence.SayMissingAsync"/>).</summary>
    public Task SayMissingStreamsAsync(IEnumerable<string> subjects, Task connected, CancellationToken stop) =>
        _streams.SayMissingAsync(subjects, connected, stop);

    /// <summary>Starts a send of the batch: what the stream refused in an earlier send leaves it first.</summary>
    public void Begin(PublishBatch batch)
    {
        batch.BeginSend();
        batch.ConfirmState = new StreamAckSend(batch, _next);
    }

    /// <summary>The reply subject of one message of the batch being sent, registered before it goes out.</summary>
    public string ReplySubject(PublishBatch batch, int index)
    {
        var send = (StreamAckSend)batch.ConfirmState!;
        long number = _next++;
        send.Expect();
        lock (_lock)
        {
            _awaiting[number] = (send, batch.Messages[index]);
        }
        return _prefix + number.ToString(CultureInfo.InvariantCulture);
    }

    public void Forget(PublishBatch batch, int index)
    {
        lock (_lock)
        {
            _awaiting.Remove(_next - 1);
        }
        ((StreamAckSend)batch.ConfirmState!).Answered();
    }

    public void End(PublishBatch batch) => End((StreamAckSend)batch.ConfirmState!);

    public async Task<bool> ConfirmAsync(PublishBatch batch, PublishSession session, CancellationToken stop)
    {
        var send = (StreamAckSend)batch.ConfirmState!;
        send.Answered(); // the send's own count: every message of it is out
        bool confirmed = false;
        try
        {
            confirmed = await send.Task.WaitAsync(AnswerTimeout, session.Token).ConfigureAwait(false);
            return confirmed;
        }
        catch (TimeoutException)
        {
            batch.Failure ??= $"no PubAck from the stream within {AnswerTimeout.TotalSeconds:0} s";
            _streams.Doubt(batch);
            return false;
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return false;
        }
        finally
        {
            if (!confirmed)
            {
                End(send);
            }
        }
    }

    /// <summary>
    /// No PubAck will come: the message is refused for good rather than awaited and sent again. The server's refusals
    /// come in the order of the sends, so it is the first message on that subject still awaited after the last one
    /// refused (every awaited number is within the window of the batches in flight).
    /// </summary>
    public void OnDenied(string subject)
    {
        StreamAckSend? send = null;
        DispatchMessage? message = null;
        lock (_lock)
        {
            for (long n = Math.Max(_deniedFrom, _next - (long)PublishBuffer.BatchSize * Publisher.MaxInFlight * 2); n < _next; n++)
            {
                if (_awaiting.TryGetValue(n, out var e) && e.Message.Subject == subject)
                {
                    _awaiting.Remove(n);
                    _deniedFrom = n + 1;
                    (send, message) = e;
                    break;
                }
            }
        }
        if (send is not null && message is not null)
        {
            Refused(send, message, reason: null);
        }
    }

    /// <summary>Refusals were counted as their answers came: nothing is left to take.</summary>
    public void Confirmed(PublishBatch batch)
    {
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _reader.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        if (_subscribed.IsCompletedSuccessfully)
        {
            await _subscribed.Result.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops listening for the send's answers (it failed, or its confirmation is over).</summary>
    private void End(StreamAckSend send)
    {
        lock (_lock)
        {
            for (long n = send.FirstReply; n < _next; n++)
            {
                if (_awaiting.TryGetValue(n, out var entry) && ReferenceEquals(entry.Send, send))
                {
                    _awaiting.Remove(n);
                }
            }
        }
    }

    private async Task<INatsSub<byte[]>> SubscribeAsync(CancellationToken stop)
    {
        // Like the control subject, the inbox waits for the first connection rather than failing the daemon.
        while (true)
        {
            try
            {
                return await _connection.SubscribeCoreAsync(_prefix + "*", serializer: Bytes, cancellationToken: stop).ConfigureAwait(false);
            }
            catch (NatsException) when (!stop.IsCancellationRequested)
            {
                await Task.Delay(SubscribeRetry, stop).ConfigureAwait(false);
            }
        }
    }

    private async Task ReadAsync(CancellationToken stop)
    {
        try
        {
            var sub = await _subscribed.ConfigureAwait(false);
            await foreach (var answer in sub.Msgs.ReadAllAsync(stop).ConfigureAwait(false))
            {
                OnAnswer(answer);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private void OnAnswer(NatsMsg<byte[]> answer)
    {
        if (!long.TryParse(answer.Subject.AsSpan(_prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long number))
        {
            return;
        }
        (StreamAckSend Send, DispatchMessage Message) entry;
        lock (_lock)
        {
            if (!_awaiting.Remove(number, out entry))
            {
                return; // an answer to a send given up on: that batch went again under new numbers
            }
        }
        var (send, message) = entry;
        switch (PubAck.Judge(answer, message.Subject, out string? reason))
        {
            case PubAck.Verdict.Refused:
                Refused(send, message, reason!);
                return;
            case PubAck.Verdict.Retry:
                send.Batch.Failure = reason;
                _streams.Doubt(send.Batch);
                send.TrySetResult(false);
                return;
        }
        send.Answered();
    }

    /// <summary>A refusal for good: logged now with its reason, or (a permissions violation) when the batch settles.</summary>
    private void Refused(StreamAckSend send, DispatchMessage message, string? reason)
    {
        send.Batch.Refuse(message, denied: reason is null);
        if (reason is not null)
        {
            _log.LogPublishFailed(message.ScheduleName, message.ScheduledFor, message.Subject, reason);
        }
        _buffer.CountRefused();
        send.Answered();
    }
}
