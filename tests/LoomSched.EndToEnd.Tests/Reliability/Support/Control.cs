using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Reliability.Support;

/// <summary>Requests to a daemon's control subject, and what its log says at the end.</summary>
public static partial class Control
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    public static async Task<JsonElement> RequestAsync(INatsConnection client, string subject, string body, double timeoutSeconds = 5)
    {
        var reply = await client.RequestAsync(subject, Encoding.UTF8.GetBytes(body), requestSerializer: Raw, replySerializer: Raw,
            replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(timeoutSeconds) });
        return JsonDocument.Parse(reply.Data!).RootElement.Clone();
    }

    public static Task<JsonElement> StatusAsync(INatsConnection client, string subject) => RequestAsync(client, subject, """{"action":"status"}""");

    /// <summary>Triggers <paramref name="schedule"/> over the control subject; the reply must say ok.</summary>
    public static async Task TriggerAsync(INatsConnection client, string subject, string schedule)
    {
        var reply = await RequestAsync(client, subject, $$"""{"action":"trigger","schedule":"{{schedule}}"}""");
        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.GetRawText());
    }

    public static JsonElement Schedule(JsonElement status, string name) =>
        status.GetProperty("schedules").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    /// <summary>The counts of the daemon's last line, <c>stopped: published=… abandoned=… dropped=… publish_errors=…</c>.</summary>
    public static (long Published, long Abandoned, long Dropped, long PublishErrors) Stopped(Loomsched daemon)
    {
        var line = daemon.Stderr.LastOrDefault(l => l.Contains(" stopped: ", StringComparison.Ordinal));
        Assert.True(line is not null, $"the daemon logged no stopped line; its log:\n{daemon.Log}");
        var m = StoppedLine().Match(line);
        Assert.True(m.Success, line);
        long N(string g) => long.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
        return (N("p"), N("a"), N("d"), N("e"));
    }

    /// <summary>How many messages the daemon's "fired" lines (and "abandoned" lines of fires cut by a shutdown) say it built.</summary>
    public static long FiredMessages(Loomsched daemon, string schedule) =>
        daemon.Stderr.Select(l => FiredLine().Match(l)).Where(m => m.Success && m.Groups["s"].Value == schedule)
            .Sum(m => long.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture))
        + daemon.Stderr.Select(l => AbandonedLine().Match(l)).Where(m => m.Success && m.Groups["s"].Value == schedule)
            .Sum(m => long.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture) + long.Parse(m.Groups["a"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"stopped: published=(?<p>\d+) abandoned=(?<a>\d+) dropped=(?<d>\d+) publish_errors=(?<e>\d+)")]
    private static partial Regex StoppedLine();

    [GeneratedRegex(@" fired (?<s>\S+) slot=\S+ messages=(?<n>\d+) ")]
    private static partial Regex FiredLine();

    [GeneratedRegex(@" abandoned (?<s>\S+) slot=\S+ sent=(?<n>\d+) abandoned=(?<a>\d+)")]
    private static partial Regex AbandonedLine();
}

[CollectionDefinition("reliability", DisableParallelization = true)]
public sealed class ReliabilityCollection;
