using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests;

/// <summary>
/// <c>run --metrics-address</c>: what Prometheus scrapes from <c>/metrics</c> and a probe reads from <c>/healthz</c>,
/// asked over HTTP from this test as a scraper would.
/// </summary>
[Collection("nats")]
public sealed class MetricsEndpointFacts(NatsFixture nats)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static string TickConfig(string name) => TempConfig.Write($$"""
        name: {{name}}
        subject_prefix: metrics
        schedules:
          - name: tick
            interval_seconds: 0.2
            task: {worker_type: w}
        """);

    private static string YearlyConfig(string name) => TempConfig.Write($$"""
        name: {{name}}
        subject_prefix: metrics
        schedules:
          - name: yearly
            cron: "0 0 1 1 *"
            task: {worker_type: w}
        """);

    [Fact]
    public async Task Metrics_serves_the_counters_and_a_lateness_histogram_of_every_scheduled_fire()
    {
        int port = NatsServer.FreePort();
        await using var daemon = Loomsched.Run(TickConfig("scraped_http"), nats.Server.Url, "--metrics-address", $"127.0.0.1:{port}");
        await daemon.WaitForLogAsync($"metrics on http://127.0.0.1:{port}/metrics");
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        // A scrape names the target as configured: by address or as localhost.
        foreach (string host in new[] { "127.0.0.1", "localhost" })
        {
            using var response = await Http.GetAsync(new Uri($"http://{host}:{port}/metrics"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
            var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("loomsched_up{scheduler=\"scraped_http\"} 1", lines);
            Assert.Contains("# TYPE loomsched_schedule_late_milliseconds histogram", lines);
            long fires = Value(lines, "loomsched_schedule_fires_total{scheduler=\"scraped_http\",schedule=\"tick\"}");
            Assert.True(fires >= 3, $"{fires} fires");

            const string Bucket = "loomsched_schedule_late_milliseconds_bucket{scheduler=\"scraped_http\",schedule=\"tick\",le=";
            var buckets = lines.Where(l => l.StartsWith(Bucket, StringComparison.Ordinal)).ToList();
            Assert.Equal(14, buckets.Count);
            Assert.StartsWith(Bucket + "\"0.5\"} ", buckets[0], StringComparison.Ordinal);
            Assert.StartsWith(Bucket + "\"+Inf\"} ", buckets[^1], StringComparison.Ordinal);
            var counts = buckets.Select(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(counts.Order(), counts); // cumulative
            long count = Value(lines, "loomsched_schedule_late_milliseconds_count{scheduler=\"scraped_http\",schedule=\"tick\"}");
            Assert.Equal(count, counts[^1]);
            // Every scheduled fire is counted once, in the same snapshot as the fires.
            Assert.Equal(fires, count);
            Assert.Contains(lines, l => l.StartsWith("loomsched_schedule_late_milliseconds_sum{scheduler=\"scraped_http\",schedule=\"tick\"} ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_triggered_fire_is_not_counted_as_late()
    {
        int port = NatsServer.FreePort();
        var config = YearlyConfig("triggered_http");
        await using var daemon = Loomsched.Run(config, nats.Server.Url, "--metrics-address", $"127.0.0.1:{port}");
        await daemon.WaitForLogAsync("nats connected");
        var (code, _, error) = await Loomsched.ExecAsync("trigger", "yearly", "--name", "triggered_http", "--subject-prefix", "metrics",
            "--nats-url", nats.Server.Url);
        Assert.True(code == 0, error);
        var lines = (await Http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"))).Split('\n');
        Assert.Equal(1, Value(lines, "loomsched_schedule_fires_total{scheduler=\"triggered_http\",schedule=\"yearly\"}"));
        Assert.Equal(0, Value(lines, "loomsched_schedule_late_milliseconds_count{scheduler=\"triggered_http\",schedule=\"yearly\"}"));
    }

    [Fact]
    public async Task Healthz_is_ok_while_the_timer_loop_runs_even_without_nats_and_other_paths_are_refused()
    {
        int port = NatsServer.FreePort();
        int noServer = NatsServer.FreePort();
        await using var daemon = Loomsched.Run(TickConfig("healthy_http"), $"nats://127.0.0.1:{noServer}", "--metrics-address", $":{port}");
        await daemon.WaitForLogAsync($"metrics on http://0.0.0.0:{port}/metrics");
        await Task.Delay(TimeSpan.FromSeconds(0.5));

        using var health = await Http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
        string text = await health.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.StartsWith("ok: the timer loop ran ", text, StringComparison.Ordinal);
        Assert.Contains("NATS not connected (messages wait in the buffer)", text);

        using var missing = await Http.GetAsync(new Uri($"http://127.0.0.1:{port}/status"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("not found: loomsched serves /metrics and /healthz\n", await missing.Content.ReadAsStringAsync());
        using var posted = await Http.PostAsync(new Uri($"http://127.0.0.1:{port}/metrics"), new StringContent("x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, posted.StatusCode);

        // A request the listener itself refuses (no length on a POST) leaves the endpoint and the daemon running.
        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync(IPAddress.Loopback, port);
            await raw.GetStream().WriteAsync("POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            var buffer = new byte[256];
            int n = await raw.GetStream().ReadAsync(buffer);
            Assert.StartsWith("HTTP/1.1 411", System.Text.Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
        }
        using var again = await Http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.False(daemon.HasExited, daemon.Log);
    }

    [Fact]
    public async Task A_method_other_than_get_or_head_is_refused_with_405_naming_the_methods_allowed()
    {
        int port = NatsServer.FreePort();
        await using var daemon = Loomsched.Run(YearlyConfig("allow_http"), nats.Server.Url, "--metrics-address", $"127.0.0.1:{port}");
        await daemon.WaitForLogAsync("nats connected");

        foreach (var (method, path, body) in new[]
        {
            (HttpMethod.Post, "/metrics", "x"), (HttpMethod.Post, "/metrics", ""), (HttpMethod.Put, "/healthz", "x"),
            (HttpMethod.Delete, "/metrics", null), (HttpMethod.Options, "/metrics", null), (HttpMethod.Patch, "/nowhere", "x"),
        })
        {
            using var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{port}{path}"))
            {
                Content = body is null ? null : new StringContent(body),
            };
            using var response = await Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            Assert.Equal(new[] { "GET", "HEAD" }, response.Content.Headers.Allow);
            Assert.Equal("only GET and HEAD are served\n", await response.Content.ReadAsStringAsync());
        }
        using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri($"http://127.0.0.1:{port}/metrics")));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
    }

    [Fact]
    public async Task Healthz_judges_an_idle_timer_loop_without_waking_it()
    {
        int port = NatsServer.FreePort();
        var config = YearlyConfig("idle_http");
        await using var daemon = Loomsched.Run(config, nats.Server.Url, "--metrics-address", $"127.0.0.1:{port}");
        await daemon.WaitForLogAsync($"metrics on http://127.0.0.1:{port}/metrics");
        await Task.Delay(TimeSpan.FromSeconds(4));

        using var health = await Http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
        string text = await health.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        // The loop last ran when it went to sleep at start: neither the probe nor a heartbeat has woken it since.
        var ran = System.Text.RegularExpressions.Regex.Match(text, @"^ok: the timer loop ran (\d+\.\d) s ago; NATS connected\n$");
        Assert.True(ran.Success, text);
        Assert.True(double.Parse(ran.Groups[1].Value, CultureInfo.InvariantCulture) >= 3.5, text);
    }

    [Fact]
    public async Task A_metrics_address_in_use_stops_the_start_with_one_line_and_exit_1()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (code, _, error) = await Loomsched.ExecAsync("run", "--config", TickConfig("busy_http"), "--nats-url", nats.Server.Url,
            "--metrics-address", $"127.0.0.1:{port}");
        Assert.Equal(1, code);
        Assert.Contains($"fatal --metrics-address 127.0.0.1:{port}: cannot listen: Address already in use; not started", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task A_metrics_address_whose_name_does_not_resolve_stops_the_start_saying_so()
    {
        var (code, _, error) = await Loomsched.ExecAsync("run", "--config", TickConfig("unresolved_http"), "--nats-url", nats.Server.Url,
            "--metrics-address", "no-such-host.invalid:9464");
        Assert.Equal(1, code);
        Assert.Contains("fatal --metrics-address no-such-host.invalid:9464: cannot listen: the name no-such-host.invalid does not resolve "
            + "to an address; give one of this host's IPv4 addresses, such as 127.0.0.1:9464, or :9464 for every interface; not started", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Theory]
    [InlineData("9464", "--metrics-address must be HOST:PORT, such as 127.0.0.1:9464 or :9464 (every interface), got \"9464\"")]
    [InlineData("127.0.0.1:0", "--metrics-address must be HOST:PORT, such as 127.0.0.1:9464 or :9464 (every interface), got \"127.0.0.1:0\"")]
    [InlineData("127.0.0.1:70000", "--metrics-address must be HOST:PORT, such as 127.0.0.1:9464 or :9464 (every interface), got \"127.0.0.1:70000\"")]
    [InlineData("[::1]:9464", "--metrics-address takes an IPv4 address or a host name (HttpListener reads no IPv6 address), got \"[::1]:9464\"")]
    [InlineData("999.1.1.1:9464", "--metrics-address: \"999.1.1.1\" is not an IPv4 address (four numbers from 0 to 255, such as 127.0.0.1), got \"999.1.1.1:9464\"")]
    [InlineData("127.1:9464", "--metrics-address: \"127.1\" is not an IPv4 address (four numbers from 0 to 255, such as 127.0.0.1), got \"127.1:9464\"")]
    public async Task A_malformed_metrics_address_is_a_usage_error_naming_the_form(string address, string message)
    {
        var (code, _, error) = await Loomsched.ExecAsync("run", "--config", TickConfig("malformed_http"), "--metrics-address", address);
        Assert.Equal(2, code);
        Assert.Equal($"loomsched: error: run: {message}\n", error);
    }

    private static long Value(IEnumerable<string> lines, string series)
    {
        string line = Assert.Single(lines, l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return long.Parse(line[(series.Length + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
