using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests;

/// <summary>
/// The daemon answers the NATS Services API ($SRV.PING, $SRV.INFO, $SRV.STATS), as `nats micro ls|info|stats` ask
/// it, from a separate client on a server of its own (no other daemon answers there).
/// </summary>
public sealed class ServiceDiscoveryFacts
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    private static async Task<JsonElement> RequestAsync(NatsConnection client, string subject, string body = "")
    {
        var reply = await client.RequestAsync(subject, System.Text.Encoding.UTF8.GetBytes(body), requestSerializer: Raw, replySerializer: Raw,
            replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(5) });
        return JsonDocument.Parse(reply.Data!).RootElement.Clone();
    }

    [Fact]
    public async Task Nats_micro_finds_the_daemon_as_service_loomsched_with_its_control_endpoint_and_counters()
    {
        await using var server = await NatsServer.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        await client.ConnectAsync();
        var config = TempConfig.Write("""
            name: discovered
            subject_prefix: disc
            schedules:
              - name: tick
                interval_seconds: 0.2
                task: {worker_type: w}
            """);
        await using var daemon = Loomsched.Run(config, server.Url);
        await daemon.WaitForLogAsync("nats connected");
        await Task.Delay(TimeSpan.FromSeconds(1)); // a few fires

        foreach (var subject in new[] { "$SRV.PING", "$SRV.PING.loomsched" })
        {
            var ping = await RequestAsync(client, subject);
            Assert.Equal("io.nats.micro.v1.ping_response", ping.GetProperty("type").GetString());
            Assert.Equal("loomsched", ping.GetProperty("name").GetString());
            Assert.Equal("discovered", ping.GetProperty("metadata").GetProperty("scheduler").GetString());
        }
        string id = (await RequestAsync(client, "$SRV.PING")).GetProperty("id").GetString()!;
        var (code, version, _) = await Loomsched.ExecAsync("--version");
        Assert.Equal(0, code);

        var info = await RequestAsync(client, $"$SRV.INFO.loomsched.{id}");
        Assert.Equal("io.nats.micro.v1.info_response", info.GetProperty("type").GetString());
        Assert.Equal(version.Trim(), $"loomsched {info.GetProperty("version").GetString()}");
        Assert.Contains("disc.scheduler.discovered", info.GetProperty("description").GetString());
        var endpoint = Assert.Single(info.GetProperty("endpoints").EnumerateArray());
        Assert.Equal("control", endpoint.GetProperty("name").GetString());
        Assert.Equal("disc.scheduler.discovered", endpoint.GetProperty("subject").GetString());

        // The endpoint is the control subject: a status request through it is counted in the stats.
        var status = await RequestAsync(client, "disc.scheduler.discovered", """{"action":"status"}""");
        Assert.True(status.GetProperty("ok").GetBoolean());
        var stats = await RequestAsync(client, "$SRV.STATS.loomsched");
        Assert.Equal("io.nats.micro.v1.stats_response", stats.GetProperty("type").GetString());
        var control = Assert.Single(stats.GetProperty("endpoints").EnumerateArray());
        Assert.True(control.GetProperty("num_requests").GetInt64() >= 1);
        var data = control.GetProperty("data");
        Assert.Equal("discovered", data.GetProperty("scheduler").GetString());
        Assert.Equal(1, data.GetProperty("schedules").GetInt32());
        Assert.True(data.GetProperty("fires").GetInt64() >= 2, data.GetRawText());
        Assert.True(data.GetProperty("published").GetInt64() >= 1, data.GetRawText());
        Assert.Equal(0, data.GetProperty("errors").GetInt64());
    }

    [Fact]
    public async Task Status_in_prometheus_format_is_what_a_textfile_collector_reads_and_down_when_no_daemon_answers()
    {
        await using var server = await NatsServer.StartAsync();
        var config = TempConfig.Write("""
            name: scraped
            subject_prefix: scrape
            schedules:
              - name: tick
                interval_seconds: 0.2
                task: {worker_type: w}
            """);
        await using var daemon = Loomsched.Run(config, server.Url);
        await daemon.WaitForLogAsync("nats connected");
        await Task.Delay(TimeSpan.FromSeconds(1));
        var (code, output, error) = await Loomsched.ExecAsync("status", "--name", "scraped", "--subject-prefix", "scrape",
            "--nats-url", server.Url, "--format", "prometheus");
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("loomsched_up{scheduler=\"scraped\"} 1", lines);
        Assert.Contains("# TYPE loomsched_schedule_fires_total counter", lines);
        var fires = Assert.Single(lines, l => l.StartsWith("loomsched_schedule_fires_total{scheduler=\"scraped\",schedule=\"tick\"} ", StringComparison.Ordinal));
        Assert.True(long.Parse(fires.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) >= 2, fires);
        Assert.Contains(lines, l => l.StartsWith("loomsched_published_total{scheduler=\"scraped\"} ", StringComparison.Ordinal));

        (code, output, error) = await Loomsched.ExecAsync("status", "--name", "nobody", "--subject-prefix", "scrape",
            "--nats-url", server.Url, "--format", "prometheus", "--timeout", "0.5");
        Assert.Equal(1, code);
        Assert.EndsWith("loomsched_up{scheduler=\"nobody\"} 0\n", output);
        Assert.Contains("no scheduler answers", error);
    }
}
