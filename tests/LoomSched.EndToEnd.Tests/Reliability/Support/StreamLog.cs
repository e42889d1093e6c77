using System.Text;
using System.Text.Json;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Reliability.Support;

/// <summary>
/// A JetStream stream (file storage) capturing a subject on the server itself, so that what the server accepted
/// survives the server being killed and restarted, with no subscriber that would have to reconnect in time.
/// Its duplicate window is the smallest allowed (100 ms): a copy the daemon resends after a reconnect is stored again and can be counted.
/// Driven through the JetStream API subjects, so the tests need no JetStream package.
/// </summary>
public sealed class StreamLog(string name)
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    public string Name { get; } = name;

    public static async Task<StreamLog> CreateAsync(INatsConnection client, string name, string subject)
    {
        var config = $$"""{"name":"{{name}}","subjects":["{{subject}}"],"storage":"file","duplicate_window":100000000}""";
        var reply = await ApiAsync(client, $"$JS.API.STREAM.CREATE.{name}", config);
        Assert.False(reply.TryGetProperty("error", out var error), $"stream {name} was not created: {error}");
        return new StreamLog(name);
    }

    /// <summary>Every stored message, in stream order (the order the server accepted them).</summary>
    public async Task<IReadOnlyList<Seen>> ReadAllAsync(INatsConnection client)
    {
        var info = await ApiAsync(client, $"$JS.API.STREAM.INFO.{Name}", "");
        var state = info.GetProperty("state");
        long first = state.GetProperty("first_seq").GetInt64(), last = state.GetProperty("last_seq").GetInt64();
        var list = new List<Seen>();
        for (long seq = first; seq <= last && state.GetProperty("messages").GetInt64() > 0; seq++)
        {
            var reply = await ApiAsync(client, $"$JS.API.STREAM.MSG.GET.{Name}", $$"""{"seq":{{seq}}}""");
            var message = reply.GetProperty("message");
            var headers = ParseHeaders(Convert.FromBase64String(message.GetProperty("hdrs").GetString()!));
            var data = message.TryGetProperty("data", out var d) ? Convert.FromBase64String(d.GetString()!) : [];
            list.Add(new Seen(message.GetProperty("subject").GetString()!, headers.GetValueOrDefault("Loom-Schedule", ""),
                headers.GetValueOrDefault("Loom-Scheduled-For", ""), headers.GetValueOrDefault("Nats-Msg-Id", ""), data.Length,
                message.GetProperty("time").GetDateTimeOffset()));
        }
        return list;
    }

    private static Dictionary<string, string> ParseHeaders(byte[] raw)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in Encoding.UTF8.GetString(raw).Split("\r\n").Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                result[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }
        return result;
    }

    private static async Task<JsonElement> ApiAsync(INatsConnection client, string subject, string body)
    {
        var reply = await client.RequestAsync(subject, Encoding.UTF8.GetBytes(body), requestSerializer: Raw, replySerializer: Raw,
            replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(10) });
        return JsonDocument.Parse(reply.Data!).RootElement.Clone();
    }
}
