using LoomSched.Publishing;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// <c>publish: jetstream</c>: whether a JetStream stream captures a subject, asked of the JetStream API before the
/// first send to it and again after a send to it went unanswered. While none does, the subject's messages wait unsent:
/// sent again and again, every copy would reach the subject's core subscribers.
/// </summary>
/// <remarks>
/// When the API cannot say (no answer in time, or the user may not ask it), the messages go as they would without
/// the check: a missing stream then shows as PubAcks that do not come, and the batch goes again.
/// </remarks>
internal sealed partial class StreamPresence(INatsConnection connection, PublishBuffer buffer, ILogger log)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AskAgain = TimeSpan.FromSeconds(2);
    private const string NoJetStream = " (the server has no JetStream: nats-server -js, or jetstream {} in its config)";

    private readonly NatsJSContext _js = new((NatsConnection)connection);
    private readonly Lock _lock = new();
    private readonly HashSet<string> _settled = new(StringComparer.Ordinal); // under _lock: a stream captures it, or the API cannot say

    /// <summary>Completes once a stream captures every subject of <paramref name="next"/> (or the API cannot say).</summary>
    public async Task WaitForStreamsAsync(PublishBatch next, CancellationToken stop)
    {
        foreach (string subject in next.Messages.Select(m => m.Subject).Distinct(StringComparer.Ordinal))
        {
            bool waited = false;
            while (!IsSettled(subject))
            {
                var (answer, said) = await AskAsync(subject, stop).ConfigureAwait(false);
                if (answer == Answer.Captured)
                {
                    if (waited)
                    {
                        LogStreamFound(subject, said!);
                    }
                    Settle(subject);
                }
                else if (answer == Answer.Unknown)
                {
                    LogCannotAsk(subject, said!);
                    Settle(subject);
                }
                else
                {
                    if (!waited)
                    {
                        LogNoStream(subject, said ?? "", buffer.Pending, AskAgain.TotalSeconds);
                        waited = true;
                    }
                    await Task.Delay(AskAgain, stop).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// Says at start which of <paramref name="subjects"/> no stream captures, once <paramref name="connected"/>: a
    /// forgotten stream shows in the log at deployment, not at the first fire (which may be a day away).
    /// </summary>
    public async Task SayMissingAsync(IEnumerable<string> subjects, Task connected, CancellationToken stop)
    {
        try
        {
            await connected.WaitAsync(stop).ConfigureAwait(false);
            foreach (string subject in subjects)
            {
                var (answer, why) = await AskAsync(subject, stop).ConfigureAwait(false);
                if (answer == Answer.Captured)
                {
                    Settle(subject);
                }
                else if (answer == Answer.None)
                {
                    LogNoStreamAtStart(subject, why ?? "");
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>A send of the batch went unanswered: its subjects are asked about again before it goes again.</summary>
    public void Doubt(PublishBatch batch)
    {
        lock (_lock)
        {
            foreach (var message in batch.Messages)
            {
                _settled.Remove(message.Subject);
            }
        }
    }

    private bool IsSettled(string subject)
    {
        lock (_lock)
        {
            return _settled.Contains(subject);
        }
    }

    private void Settle(string subject)
    {
        lock (_lock)
        {
            _settled.Add(subject);
        }
    }

    /// <summary>The stream that captures the subject; none (with why, when known); or why the API cannot say.</summary>
    private async Task<(Answer Answer, string? Said)> AskAsync(string subject, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(AskTimeout);
        try
        {
            await foreach (string stream in _js.ListStreamNamesAsync(subject, timeout.Token).ConfigureAwait(false))
            {
                return (Answer.Captured, stream);
            }
            return (Answer.None, null);
        }
        catch (NatsNoRespondersException)
        {
            return (Answer.None, NoJetStream); // nothing answers the JetStream API
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException && !stop.IsCancellationRequested)
        {
            return (Answer.Unknown, ex is OperationCanceledException ? $"no answer within {AskTimeout.TotalSeconds:0} s" : ex.Message);
        }
    }

    private enum Answer
    {
        Captured,
        None,
        Unknown,
    }

    [LoggerMessage(EventId = 26, Level = LogLevel.Warning,
        Message = "publish: jetstream, but no JetStream stream captures {Subject}{Why}: its messages wait unsent until one does ({Pending} pending; asked again every {Seconds} s)")]
    private partial void LogNoStream(string subject, string why, int pending, double seconds);

    [LoggerMessage(EventId = 29, Level = LogLevel.Warning,
        Message = "publish: jetstream, but no JetStream stream captures {Subject}{Why}: messages to it will wait unsent until one does")]
    private partial void LogNoStreamAtStart(string subject, string why);

    [LoggerMessage(EventId = 27, Level = LogLevel.Information, Message = "stream {Stream} now captures {Subject}: its waiting messages go out")]
    private partial void LogStreamFound(string subject, string stream);

    [LoggerMessage(EventId = 28, Level = LogLevel.Information,
        Message = "could not ask the JetStream API which stream captures {Subject} ({Reason}); sending, and relying on the PubAcks")]
    private partial void LogCannotAsk(string subject, string reason);
}
