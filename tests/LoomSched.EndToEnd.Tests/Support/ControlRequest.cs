using System.Diagnostics;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>
/// A control request to a daemon, sent as a client would. A daemon logs "nats connected" a moment before its control
/// subscription reaches the server: a request in that moment has no responder, and is sent again.
/// </summary>
public static class ControlRequest
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;
    private static readonly TimeSpan Subscribing = TimeSpan.FromSeconds(10);

    /// <summary>The reply's JSON; waits up to 5 s for a reply once the subject has a responder.</summary>
    public static async Task<JsonElement> SendAsync(INatsConnection connection, string subject, string body)
    {
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                var reply = await connection.RequestAsync(subject, Encoding.UTF8.GetBytes(body), requestSerializer: Raw, replySerializer: Raw,
                    replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(5) });
                return JsonDocument.Parse(reply.Data!).RootElement.Clone();
            }
            catch (NatsNoRespondersException) when (Stopwatch.GetElapsedTime(start) < Subscribing)
            {
                await Task.Delay(20);
            }
        }
    }
}
