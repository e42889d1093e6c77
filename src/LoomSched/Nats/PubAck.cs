using System.Text;
using System.Text.Json;
using NATS.Client.Core;

namespace LoomSched.Daemon.Nats;

/// <summary>Reads a PubAck: <c>{"stream":..,"seq":..}</c>, or <c>{"error":{"code":..,"description":..}}</c>.</summary>
internal static class PubAck
{
    /// <summary>What a stream answered to one publish: stored, refused for good, or to be sent again.</summary>
    public enum Verdict
    {
        Stored,
        Refused,
        Retry,
    }

    public static Verdict Judge(NatsMsg<byte[]> answer, string subject, out string? reason)
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
