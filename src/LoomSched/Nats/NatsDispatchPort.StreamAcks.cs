using System.Text;
using System.Text.Json;
using LoomSched.Dispatch;
using NATS.Client.Core;

namespace LoomSched.Daemon.Nats;

internal sealed partial class NatsDispatchPort
{
    /// <summary>
    /// <c>publish: jetstream</c>: every message goes out with its own reply subject under one inbox, and the
    /// JetStream stream that captures the message's subject answers with a PubAck once it stored it. A batch is
    /// confirmed when every message of it is; a refusal for good (no stream on the subject, a limit of the
    /// stream) is counted and logged like any refused publish; a stream that cannot answer yet (503: no
    /// leader), no stream answering at all (no responders) or no answer in time sends the batch, and the ones after it,
    /// again, with a growing pause (up to a second): the messages wait, within <c>max_pending</c>, until a stream takes them. The copy the stream may
    /// already hold carries the same <c>Nats-Msg-Id</c> and is dropped by it (PubAck <c>duplicate</c>).
    /// </summary>
    private sealed class StreamAcks : IAsyncDisposable
    {
        private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(5);
        private static readonly NatsRawSerializer<byte[]> Bytes = NatsRawSerializer<byte[]>.Default;

        private readonly NatsDispatchPort _port;
        private readonly string _prefix;
        private readonly Lock _lock = new();
        private readonly Dictionary<long, (Batch Batch, DispatchMessage Message)> _awaiting = [];
        private readonly Task<INatsSub<byte[]>> _subscribed;
        private readonly Task _reader;
        private long _next;
        private long _deniedFrom; // under _lock: the reply number after the last message the server refused (OnDenied)

        public StreamAcks(NatsDispatchPort port, CancellationToken stop)
        {
            _port = port;
            // Under the inbox prefix that deployments' permissions allow for replies, but not under the connection's
            // own inbox (the client routes those through its request muxer, which takes one token only).
            _prefix = $"{port._connection.Opts.InboxPrefix}.ack{Guid.NewGuid():N}.";
            _subscribed = Task.Run(() => SubscribeAsync(stop), CancellationToken.None);
            _reader = Task.Run(() => ReadAsync(stop), CancellationToken.None);
        }

        /// <summary>Completes once the inbox is subscribed, so that no answer can come before anyone listens.</summary>
        public Task ReadyAsync(CancellationToken stop) => _subscribed.WaitAsync(stop);

        /// <summary>Starts a send of the batch: what the stream refused in an earlier send leaves it first.</summary>
        public void Begin(Batch batch)
        {
            lock (batch)
            {
                if (batch.Refused is { Count: > 0 } refused)
                {
                    batch.Messages.RemoveAll(refused.Contains);
                }
                batch.Refused = null;
                batch.RefusedByStream = 0;
            }
            batch.Failure = null;
            batch.FirstReply = _next;
            batch.Answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            // One extra count for the send itself: the batch cannot be complete before the last message went out.
            batch.Awaiting = 1;
        }

        /// <summary>The reply subject of one message of the batch being sent, registered before it goes out.</summary>
        public string ReplySubject(Batch batch, int index)
        {
            long number = _next++;
            Interlocked.Increment(ref batch.Awaiting);
            lock (_lock)
            {
                _awaiting[number] = (batch, batch.Messages[index]);
            }
            return _prefix + number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        /// <summary>The message at <paramref name="index"/> did not go out after all (refused by the client).</summary>
        public void Forget(Batch batch, int index)
        {
            lock (_lock)
            {
                _awaiting.Remove(_next - 1);
            }
            if (Interlocked.Decrement(ref batch.Awaiting) == 0)
            {
                batch.Answered!.TrySetResult(true);
            }
        }

        /// <summary>Stops listening for the batch's answers (its send failed or its confirmation is over).</summary>
        public void End(Batch batch)
        {
            lock (_lock)
            {
                for (long n = batch.FirstReply; n < _next; n++)
                {
                    if (_awaiting.TryGetValue(n, out var entry) && ReferenceEquals(entry.Batch, batch))
                    {
                        _awaiting.Remove(n);
                    }
                }
            }
        }

        /// <summary>The whole batch is out: true once the stream stored (or refused for good) each message of it.</summary>
        public async Task<bool> ConfirmAsync(Batch batch, Session session, CancellationToken stop)
        {
            var answered = batch.Answered!;
            if (Interlocked.Decrement(ref batch.Awaiting) == 0)
            {
                answered.TrySetResult(true);
            }
            bool confirmed = false;
            try
            {
                confirmed = await answered.Task.WaitAsync(AnswerTimeout, session.Token).ConfigureAwait(false);
                return confirmed;
            }
            catch (TimeoutException)
            {
                batch.Failure ??= $"no PubAck from the stream within {AnswerTimeout.TotalSeconds:0} s";
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
                    End(batch);
                }
            }
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

        private async Task<INatsSub<byte[]>> SubscribeAsync(CancellationToken stop)
        {
            // Like the control subject, the inbox waits for the first connection rather than failing the daemon.
            while (true)
            {
                try
                {
                    return await _port._connection.SubscribeCoreAsync(_prefix + "*", serializer: Bytes, cancellationToken: stop).ConfigureAwait(false);
                }
                catch (NatsException) when (!stop.IsCancellationRequested)
                {
                    await Task.Delay(OpenPoll * 10, stop).ConfigureAwait(false);
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
            if (!long.TryParse(answer.Subject.AsSpan(_prefix.Length), System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out long number))
            {
                return;
            }
            (Batch Batch, DispatchMessage Message) entry;
            lock (_lock)
            {
                if (!_awaiting.Remove(number, out entry))
                {
                    return; // an answer to a send given up on: that batch went again under new numbers
                }
            }
            var (batch, message) = entry;
            switch (Judge(answer, message.Subject, out string? reason))
            {
                case Verdict.Refused:
                    Refused(batch, message, reason!);
                    return;
                case Verdict.Retry:
                    batch.Failure = reason;
                    batch.Answered!.TrySetResult(false);
                    return;
            }
            Answered(batch);
        }

        /// <summary>
        /// The server refused a publish on <paramref name="subject"/> for the user's permissions: no PubAck will come.
        /// Its refusals come in the order of the sends, so it is the first message on that subject still awaited after
        /// the last one refused (every awaited number is within the window of the batches in flight).
        /// </summary>
        public void OnDenied(string subject)
        {
            Batch? batch = null;
            DispatchMessage? message = null;
            lock (_lock)
            {
                for (long n = Math.Max(_deniedFrom, _next - (long)BatchSize * MaxInFlight * 2); n < _next; n++)
                {
                    if (_awaiting.TryGetValue(n, out var e) && e.Message.Subject == subject)
                    {
                        _awaiting.Remove(n);
                        _deniedFrom = n + 1;
                        (batch, message) = e;
                        break;
                    }
                }
            }
            if (batch is not null && message is not null)
            {
                Refused(batch, message, reason: null);
            }
        }

        /// <summary>A refusal for good: logged now with its reason, or (a permissions violation) when the batch settles.</summary>
        private void Refused(Batch batch, DispatchMessage message, string? reason)
        {
            lock (batch)
            {
                (batch.Refused ??= new HashSet<DispatchMessage>(ReferenceEqualityComparer.Instance)).Add(message);
                batch.RefusedByStream++;
                if (reason is null)
                {
                    (batch.Denied ??= []).Add(message);
                }
            }
            if (reason is null)
            {
                _port.Refused(message);
            }
            else
            {
                _port.Refuse(message, reason);
            }
            Answered(batch);
        }

        private static void Answered(Batch batch)
        {
            if (Interlocked.Decrement(ref batch.Awaiting) == 0)
            {
                batch.Answered!.TrySetResult(true);
            }
        }

        private enum Verdict
        {
            Stored,
            Refused,
            Retry,
        }

        /// <summary>Reads a PubAck: <c>{"stream":..,"seq":..}</c>, or <c>{"error":{"code":..,"description":..}}</c>.</summary>
        private static Verdict Judge(NatsMsg<byte[]> answer, string subject, out string? reason)
        {
            reason = null;
            if (answer.Headers is { Code: 503 })
            {
                // No responders: no stream captures the subject, or none answers for it at the moment (in a cluster,
                // through a node that is going away). The message waits and goes again; it is not given up.
                reason = $"no JetStream stream answered for {subject} (publish: jetstream needs a stream on the goal and task subjects)";
                return Verdict.Retry;
            }
            var body = answer.Data ?? [];
            try
            {
                var reader = new Utf8JsonReader(body);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    reason = $"the stream's answer is not a PubAck: {Shorten(body)}";
                    return Verdict.Refused;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (!reader.ValueTextEquals("error"u8))
                    {
                        reader.Read();
                        reader.Skip();
                        continue;
                    }
                    reader.Read();
                    int code = 0;
                    string description = Shorten(body);
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            if (reader.ValueTextEquals("code"u8) && reader.Read() && reader.TokenType == JsonTokenType.Number)
                            {
                                code = reader.GetInt32();
                            }
                            else if (reader.ValueTextEquals("description"u8) && reader.Read() && reader.TokenType == JsonTokenType.String)
                            {
                                description = reader.GetString() ?? description;
                            }
                            else
                            {
                                reader.Read();
                                reader.Skip();
                            }
                        }
                    }
                    reason = $"JetStream: {description}";
                    // 503: the stream has no leader at the moment (an election after a node loss): try again.
                    return code == 503 ? Verdict.Retry : Verdict.Refused;
                }
                return Verdict.Stored;
            }
            catch (JsonException)
            {
                reason = $"the stream's answer is not a PubAck: {Shorten(body)}";
                return Verdict.Refused;
            }
        }

        private static string Shorten(byte[] body) =>
            body.Length <= 200 ? Encoding.UTF8.GetString(body) : Encoding.UTF8.GetString(body, 0, 200) + "…";
    }
}
