using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoomSched.Benchmarks.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace LoomSched.Benchmarks.Suites;

/// <summary>
/// 6. Run-time schedules (<c>runtime_schedules</c>), on a nats-server of its own with JetStream. N interval schedules
/// (10–100 s, staggered as in scale) are written straight into the KV bucket, then the daemon starts: how long until
/// it has loaded them all, its memory, how late their fires are received. Then <c>create</c> actions, each a one-shot
/// a few seconds ahead, timed with the N loaded and again on an empty bucket: request → reply, request → <c>get</c>
/// finds it loaded, and slot → received of its one message (it was scheduled).
/// </summary>
internal static class RuntimeBench
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    /// <summary>How far ahead a created one-shot's instant is: past the reply even on a busy machine.</summary>
    private static readonly TimeSpan CreateLead = TimeSpan.FromSeconds(3);

    /// <summary>Puts in flight at once while the bucket is filled.</summary>
    private const int PutsInFlight = 500;

    public static async Task RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        await using var server = await NatsServer.StartAsync(s.NatsServer, Path.Combine(s.WorkDir, "jetstream"));
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = server.Url, Name = "bench-runtime" });
        await connection.ConnectAsync();
        var results = new JsonObject();
        ctx.Report.Results["runtime"] = results;
        await LoadedAsync(ctx, server, connection, s.RuntimeSchedules, results);
        await LoadedAsync(ctx, server, connection, 0, results);
    }

    private static string Name(int i) => "s" + i.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>The entry's JSON, as <c>nats kv put</c> would store it.</summary>
    private static byte[] Value(int i, int n) => Encoding.UTF8.GetBytes(
        $"{{\"name\":\"{Name(i)}\",\"interval_seconds\":{Math.Round(10 + 90.0 * i / n, 3).ToString("0.###", CultureInfo.InvariantCulture)},"
        + "\"task\":{\"worker_type\":\"bench\"}}");

    private static async Task LoadedAsync(BenchContext ctx, NatsServer server, NatsConnection connection, int n, JsonObject results)
    {
        var s = ctx.Settings;
        string name = $"runtime{n}", prefix = ctx.NewPrefix("runtime"), bucket = $"{prefix}_s";
        string subject = $"{prefix}.scheduler.{name}";
        string path = ctx.WriteConfig($"{name}.yaml", $$"""
            name: {{name}}
            subject_prefix: {{prefix}}
            runtime_schedules: {bucket: {{bucket}}}
            control: {actions: [status, get, list, create, update, delete]}
            schedules: []

            """);
        var store = await new NatsKVContext(new NatsJSContext(connection)).CreateStoreAsync(new NatsKVConfig(bucket) { History = 1 });
        var writing = Stopwatch.StartNew();
        for (int from = 0; from < n; from += PutsInFlight)
        {
            var puts = new List<Task>(PutsInFlight);
            for (int i = from; i < Math.Min(n, from + PutsInFlight); i++)
            {
                puts.Add(store.PutAsync(Name(i), Value(i, n), Raw).AsTask());
            }
            await Task.WhenAll(puts);
        }
        var written = writing.Elapsed;

        await using var receiver = await Receiver.StartAsync(server.Url, $"{prefix}.tasks.incoming");
        var watch = Stopwatch.StartNew();
        var daemon = Daemon.Start(s.Binary, ctx.LogPath(name),
            ["run", "--config", path, "--nats-url", server.Url, "--log-format", "json", "--log-level", s.ScaleLogLevel]);
        await using (daemon)
        {
            // The probe: a status reply for N schedules would be over NATS's max_payload.
            var answering = await Control.WaitForStatusAsync(connection, subject, watch, TimeSpan.FromSeconds(300), daemon, probeOnly: true);
            var loaded = n == 0 ? answering : await WaitForLiveAsync(connection, subject, Name(n - 1), watch, TimeSpan.FromSeconds(900), daemon);
            long peakLoading = daemon.PeakRssKb;
            await Task.Delay(TimeSpan.FromSeconds(2));
            long rssLoaded = daemon.RssKb;

            ProcSample? before = null, after = null;
            if (n > 0)
            {
                before = ProcSample.Read(daemon.Pid);
                await Task.Delay(TimeSpan.FromSeconds(s.RuntimeSeconds));
                after = ProcSample.Read(daemon.Pid);
            }
            var creates = await CreatesAsync(connection, subject, s.RuntimeCreates, daemon);
            await Task.Delay(CreateLead + TimeSpan.FromSeconds(2));
            long peak = daemon.PeakRssKb;
            await daemon.StopAsync();

            var slots = new SlotCache();
            var arrivals = receiver.Take();
            var created = Distribution.Of(arrivals
                .Where(a => a.ScheduledFor is not null && a.Schedule is { } sc && sc.StartsWith('c'))
                .Select(a => (a.At - slots[a.ScheduledFor!]).TotalMilliseconds));
            var replies = Distribution.Of(creates.Select(c => c.ReplyMs));
            var live = Distribution.Of(creates.Select(c => c.LiveMs));
            string with = n == 0 ? "empty bucket" : $"{n:#,0} loaded";
            var result = new JsonObject
            {
                ["schedules"] = n,
                ["creates"] = creates.Count,
                ["create_to_reply_ms"] = Report.ToJson(replies),
                ["create_to_live_ms"] = Report.ToJson(live),
                ["created_slot_to_received_ms"] = Report.ToJson(created),
                ["created_received"] = created.Count,
                ["peak_rss_kb"] = peak,
            };
            results[n == 0 ? "empty" : "loaded"] = result;

            if (n > 0)
            {
                var cpu = after!.Since(before!);
                var window = arrivals
                    .Where(a => a.ScheduledFor is not null && a.Schedule is { } sc && sc.StartsWith('s')
                        && slots[a.ScheduledFor] > before!.At && slots[a.ScheduledFor] <= after.At)
                    .ToList();
                var received = Distribution.Of(window.Select(a => (a.At - slots[a.ScheduledFor!]).TotalMilliseconds));
                var fires = FireLog.Read(daemon)
                    .Where(f => f.Schedule.StartsWith('s') && slots[f.Slot] > before!.At && slots[f.Slot] <= after.At).ToList();
                var toFire = Distribution.Of(fires.Select(f => f.LateMs));
                ctx.Report.Add(new Row("runtime", $"{n:#,0} values put into the bucket ({PutsInFlight} in flight)",
                    $"{Report.Num(written.TotalSeconds, "0.0")} s"));
                ctx.Report.Add(new Row("runtime", "exec → control answers; exec → all loaded (`get` of the last)",
                    $"{Report.Ms(answering.TotalMilliseconds)} ms; {Report.Num(loaded.TotalSeconds, "0.00")} s"));
                ctx.Report.Add(new Row("runtime", "RSS once loaded; peak while loading",
                    $"{Report.Num(rssLoaded / 1024.0, "0.0")} MiB; {Report.Num(peakLoading / 1024.0, "0.0")} MiB"));
                if (fires.Count > 0)
                {
                    ctx.Report.Add(new Row("runtime", $"{n:#,0} from the bucket, 10–100 s: slot → fire (late_ms)", Report.Percentiles(toFire), "p99 ≤ 5 ms"));
                }
                ctx.Report.Add(new Row("runtime", $"{n:#,0} from the bucket: slot → received", Report.Percentiles(received), "p99 ≤ 5 ms"));
                ctx.Report.Add(new Row("runtime", "CPU per fire (all threads), fires/s",
                    $"{Report.Num(window.Count == 0 ? double.NaN : cpu.CpuMs * 1000 / window.Count, "0.0")} µs · {Report.Num(window.Count / cpu.Seconds, "0")}/s over {Report.Num(cpu.Seconds, "0")} s"));
                result["written_s"] = Report.Round(written.TotalSeconds);
                result["exec_to_answer_ms"] = Report.Round(answering.TotalMilliseconds);
                result["exec_to_loaded_ms"] = Report.Round(loaded.TotalMilliseconds);
                result["rss_loaded_kb"] = rssLoaded;
                result["peak_rss_loading_kb"] = peakLoading;
                result["slot_to_fire_ms"] = fires.Count > 0 ? Report.ToJson(toFire) : null;
                result["slot_to_received_ms"] = Report.ToJson(received);
                result["cpu_per_fire_us"] = Report.Round(window.Count == 0 ? double.NaN : cpu.CpuMs * 1000 / window.Count);
            }
            ctx.Report.Add(new Row("runtime", $"create → reply / → `get` live ({creates.Count} one-shots, {with})",
                $"p50 {Report.Ms(replies.P50)} / {Report.Ms(live.P50)} · p99 {Report.Ms(replies.P99)} / {Report.Ms(live.P99)} ms"));
            ctx.Report.Add(new Row("runtime", $"created one-shots ({with}): slot → received",
                $"{Report.Percentiles(created)} ({created.Count} of {creates.Count})", "p99 ≤ 5 ms"));
        }
    }

    /// <summary>One <c>create</c>: from sending it to its reply, and to a <c>get</c> that finds it loaded.</summary>
    private readonly record struct Created(double ReplyMs, double LiveMs);

    private static async Task<List<Created>> CreatesAsync(NatsConnection connection, string subject, int count, Daemon daemon)
    {
        var created = new List<Created>(count);
        for (int i = 0; i < count; i++)
        {
            string name = "c" + i.ToString("D4", CultureInfo.InvariantCulture);
            var at = DateTime.UtcNow + CreateLead;
            string instant = at.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            string request = new JsonObject
            {
                ["action"] = "create",
                ["schedule"] = new JsonObject { ["name"] = name, ["at"] = instant, ["task"] = new JsonObject { ["worker_type"] = "bench" } },
            }.ToJsonString();
            var watch = Stopwatch.StartNew();
            using (var reply = await Control.RequestAsync(connection, subject, request, TimeSpan.FromSeconds(60)))
            {
                if (reply is null || !reply.RootElement.GetProperty("ok").GetBoolean())
                {
                    throw new InvalidOperationException($"create {name} was not carried out: {reply?.RootElement.GetRawText() ?? "no answer"}\n{daemon.LogTail()}");
                }
            }
            var replied = watch.Elapsed;
            var live = await WaitForLiveAsync(connection, subject, name, watch, TimeSpan.FromSeconds(60), daemon);
            created.Add(new Created(replied.TotalMilliseconds, live.TotalMilliseconds));
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
        return created;
    }

    /// <summary>Asks <c>get</c> for a run-time schedule until it is loaded: the time from <paramref name="since"/>.</summary>
    private static async Task<TimeSpan> WaitForLiveAsync(NatsConnection connection, string subject, string name, Stopwatch since, TimeSpan timeout, Daemon daemon)
    {
        string request = $$"""{"action":"get","schedule":"{{name}}"}""";
        while (since.Elapsed < timeout)
        {
            using var reply = await Control.RequestAsync(connection, subject, request, TimeSpan.FromSeconds(5));
            if (reply is not null && reply.RootElement.GetProperty("ok").GetBoolean() && !reply.RootElement.TryGetProperty("error", out _))
            {
                return since.Elapsed;
            }
            if (daemon.HasExited)
            {
                throw new InvalidOperationException($"the daemon exited before {name} was loaded:\n{daemon.LogTail()}");
            }
            await Task.Delay(1);
        }
        throw new TimeoutException($"{name} was not loaded within {timeout.TotalSeconds} s:\n{daemon.LogTail()}");
    }
}
