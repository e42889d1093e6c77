using System.Diagnostics;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;

namespace LoomSched.Benchmarks.Support;

/// <summary>Requests on a daemon's control subject, from the benchmark's own connection.</summary>
internal static class Control
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    /// <summary>One request; null when nobody answers (no responders, or the timeout).</summary>
    public static async Task<JsonDocument?> RequestAsync(NatsConnection connection, string subject, string json, TimeSpan timeout)
    {
        try
        {
            var reply = await connection.RequestAsync(subject, Encoding.UTF8.GetBytes(json), requestSerializer: Raw,
                replySerializer: Raw, replyOpts: new NatsSubOpts { Timeout = timeout });
            return reply.Data is { Length: > 0 } data ? JsonDocument.Parse(data) : null;
        }
        catch (NatsNoRespondersException)
        {
            return null;
        }
        catch (NatsNoReplyException)
        {
            return null;
        }
    }

    /// <summary>
    /// Asks for <c>status</c> until the daemon answers: returns the time from <paramref name="since"/> to the answer.
    /// A request with no subscriber fails at once (no responders), so this polls about every millisecond. With
    /// <paramref name="probeOnly"/> the request is an unknown action, whose short refusal still proves the control
    /// subject is served: a status reply for 100,000 schedules is tens of MB, over NATS's max_payload.
    /// </summary>
    public static async Task<TimeSpan> WaitForStatusAsync(
        NatsConnection connection, string subject, Stopwatch since, TimeSpan timeout, Daemon? daemon = null, bool probeOnly = false)
    {
        string request = probeOnly ? """{"action":"bench-probe"}""" : """{"action":"status"}""";
        while (since.Elapsed < timeout)
        {
            using var reply = await RequestAsync(connection, subject, request, TimeSpan.FromMilliseconds(500));
            if (reply is not null && reply.RootElement.TryGetProperty("ok", out var ok)
                && (probeOnly || ok.ValueKind == JsonValueKind.True))
            {
                return since.Elapsed;
            }
            if (daemon is { HasExited: true })
            {
                throw new InvalidOperationException($"the daemon exited before answering status:\n{daemon.LogTail()}");
            }
            await Task.Delay(1);
        }
        throw new TimeoutException($"no status answer on {subject} within {timeout.TotalSeconds} s" +
            (daemon is null ? "" : $":\n{daemon.LogTail()}"));
    }
}
