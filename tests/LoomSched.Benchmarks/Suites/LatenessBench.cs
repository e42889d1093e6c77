using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using LoomSched.Benchmarks.Support;

namespace LoomSched.Benchmarks.Suites;

/// <summary>
/// 1. Lateness. A thousand schedules firing every second (interval 1 s, then six-field cron <c>* * * * * *</c>), at
/// each log level asked for: how late each fire starts after its slot (the daemon's own <c>late_ms</c>, logged at
/// info) and how late a subscriber on loopback receives the message (from its <c>Loom-Scheduled-For</c> header).
/// Receipt is measured by a <see cref="WireReceiver"/> (stamped when the socket read returns) at every log level, and
/// by a NATS.Client.Core <see cref="Receiver"/> at the first level, for comparison with an ordinary client. Every wire
/// after the first (<c>BENCH_WIRES</c>) has main rows of its own, with the first receiver at the first level.
/// </summary>
internal static class LatenessBench
{
    public const string Reference = "Loom: 1 s poll (mean ≈ 500, max ≈ 1000 ms); NATS scheduler: 250 ms tick";

    public static async Task RunAsync(BenchContext ctx)
    {
        var json = new JsonObject();
        ctx.Report.Results["lateness"] = json;
        var s = ctx.Settings;
        // The main rows (the peer, and each trigger with the first receiver at the first log level) run in rounds, one
        // after the other in each, so a drift of the shared machine's load falls on all of them alike; a p99 of one
        // 30 s run is set by its worst second or two, so each is run several times and reported as the median and
        // spread of the runs. The comparisons (other log levels and receivers) run once, in the first round.
        var rows = new List<(string Key, Func<Task<Measured>> Run, bool Main)>();
        if (s.LatenessReceivers.Contains("wire"))
        {
            // The peer: a plain publish loop, the floor that the NATS client, the server and the two cores set.
            rows.Add(("raw_loop", () => RunRawLoopAsync(ctx), true));
        }
        foreach (var (kind, trigger) in new (string, string)[] { ("interval", Configs.Interval(1)), ("cron", Configs.Cron("* * * * * *")) })
        {
            for (int r = 0; r < s.LatenessReceivers.Count; r++)
            {
                string receiverKind = s.LatenessReceivers[r];
                if (receiverKind is not ("wire" or "client"))
                {
                    throw new ArgumentException($"BENCH_LATENESS_RECEIVERS: unknown receiver \"{receiverKind}\"; known: wire, client");
                }
                // The first receiver runs at every log level; the others at the first, for comparison.
                foreach (var level in r == 0 ? s.LatenessLogLevels : s.LatenessLogLevels.Take(1))
                {
                    string key = r == 0 ? $"{kind}_{level}" : $"{kind}_{level}_{receiverKind}";
                    bool main = r == 0 && level == s.LatenessLogLevels[0];
                    rows.Add((key, () => RunOneAsync(ctx, kind, trigger, level, receiverKind, s.Wires[0]), main));
                }
            }
            // Every other wire: a main row of its own, with the first receiver at the first level.
            foreach (string wire in s.Wires.Skip(1))
            {
                string level = s.LatenessLogLevels[0], receiverKind = s.LatenessReceivers[0];
                rows.Add(($"{kind}_{level}_{wire}", () => RunOneAsync(ctx, kind, trigger, level, receiverKind, wire), true));
            }
        }
        var runs = rows.ToDictionary(row => row.Key, _ => new List<Measured>(), StringComparer.Ordinal);
        for (int round = 0; round < Math.Max(s.LatenessRuns, 1); round++)
        {
            foreach (var (key, run, main) in rows.Where(row => row.Main || round == 0))
            {
                Console.Error.WriteLine($"    lateness  {key}, run {round + 1}");
                runs[key].Add(await run());
            }
        }
        foreach (var (key, _, _) in rows)
        {
            json[key] = Summarize(ctx, runs[key]);
        }
    }

    /// <summary>One run of one row: its numbers, and the row's words for the table.</summary>
    private sealed record Measured(
        string Label, string? Reference, List<double> ToFire, List<double> ToReceipt, List<double> Bursts,
        double CpuPerFireUs, long Expected, JsonObject Json);

    /// <summary>
    /// The table rows and JSON of one row's runs: percentiles of all their messages together, the median and spread of
    /// each run's p99 and of each run's median burst, and every run's own numbers (with its slots) under <c>runs</c>.
    /// </summary>
    private static JsonObject Summarize(BenchContext ctx, List<Measured> runs)
    {
        var first = runs[0];
        string label = first.Label, target = first.Reference is null ? "(the floor)" : "p99 ≤ 5 ms";
        var toFire = Distribution.Of(runs.SelectMany(r => r.ToFire));
        var toReceipt = Distribution.Of(runs.SelectMany(r => r.ToReceipt));
        var bursts = Distribution.Of(runs.SelectMany(r => r.Bursts));
        var receiptP99 = Distribution.Of(runs.Select(r => Distribution.Of(r.ToReceipt).P99));
        var fireP99 = Distribution.Of(runs.Where(r => r.ToFire.Count > 0).Select(r => Distribution.Of(r.ToFire).P99));
        var burstMedians = Distribution.Of(runs.Select(r => Distribution.Of(r.Bursts).P50));
        long received = runs.Sum(r => (long)r.ToReceipt.Count), expected = runs.Sum(r => r.Expected);
        string of = runs.Count == 1 ? "" : $" ({runs.Count} runs)";
        if (toFire.Count > 0)
        {
            ctx.Report.Add(new Row("lateness", $"{label}: slot → fire (late_ms){of}", Report.Percentiles(toFire), target, first.Reference ?? ""));
        }
        ctx.Report.Add(new Row("lateness", $"{label}: slot → received{of}", Report.Percentiles(toReceipt), target, first.Reference ?? ""));
        if (runs.Count > 1)
        {
            ctx.Report.Add(new Row("lateness", $"{label}: slot → received, p99 of each run", Report.MedianSpread(receiptP99, "ms"), target));
        }
        ctx.Report.Add(new Row("lateness", $"{label}: slot → last of its messages received, per slot{of}",
            $"median {Report.Ms(bursts.P50)} · worst {Report.Ms(bursts.Max)} ms ({bursts.Count} slots) · {received}/{expected}"));
        if (double.IsFinite(first.CpuPerFireUs))
        {
            ctx.Report.Add(new Row("lateness", $"{label}: CPU per fire{of}",
                Report.MedianSpread(Distribution.Of(runs.Select(r => r.CpuPerFireUs)), "µs", v => Report.Num(v, "0.0"))));
        }
        return new JsonObject
        {
            ["runs_count"] = runs.Count,
            ["slot_to_fire_ms"] = toFire.Count > 0 ? Report.ToJson(toFire) : null,
            ["slot_to_received_ms"] = Report.ToJson(toReceipt),
            ["burst_completion_ms"] = Report.ToJson(bursts),
            ["received_p99_by_run_ms"] = Report.ToJson(receiptP99),
            ["fire_p99_by_run_ms"] = fireP99.Count > 0 ? Report.ToJson(fireP99) : null,
            ["burst_median_by_run_ms"] = Report.ToJson(burstMedians),
            ["received"] = received,
            ["expected"] = expected,
            ["runs"] = new JsonArray([.. runs.Select(r => (JsonNode)r.Json)]),
        };
    }

    private static async Task<Measured> RunOneAsync(
        BenchContext ctx, string kind, string trigger, string level, string receiverKind, string wire)
    {
        var s = ctx.Settings;
        int n = s.LatenessSchedules;
        string name = "lateness", prefix = ctx.NewPrefix("lat");
        string path = ctx.WriteConfig($"lateness-{kind}.yaml", Configs.Tasks(name, prefix, n, _ => trigger, wire));
        string label = $"{n}×{(kind == "interval" ? "interval 1 s" : "cron * * * * * *")}, log {level}, {receiverKind} receiver"
            + (wire == "bare" ? "" : $", {wire} wire");

        string subject = $"{prefix}.tasks.incoming";
        await using IArrivals receiver = receiverKind == "wire"
            ? await WireReceiver.StartAsync(ctx.Url, subject)
            : await Receiver.StartAsync(ctx.Url, subject);
        var (daemon, _) = await ctx.StartDaemonAsync(path, name, prefix, TimeSpan.FromSeconds(30), probeOnly: false,
            "--log-format", "json", "--log-level", level);
        await using (daemon)
        {
            await Task.Delay(TimeSpan.FromSeconds(s.WarmupSeconds));
            var before = ProcSample.Read(daemon.Pid);
            await Task.Delay(TimeSpan.FromSeconds(s.LatenessSeconds));
            var after = ProcSample.Read(daemon.Pid);
            // The window's last slots are still arriving: let them, then stop.
            await Task.Delay(TimeSpan.FromSeconds(1));
            long rss = daemon.PeakRssKb;
            await daemon.StopAsync();

            var slots = new SlotCache();
            var arrivals = receiver.Take()
                .Where(a => a.ScheduledFor is not null && InWindow(slots[a.ScheduledFor], before.At, after.At)).ToList();
            var received = arrivals.Select(a => (a.At - slots[a.ScheduledFor!]).TotalMilliseconds).ToList();
            var fires = FireLog.Read(daemon)
                .Where(f => InWindow(slots[f.Slot], before.At, after.At)).ToList();
            // All schedules share their slots (same anchor, same cadence): each slot seen should bring n messages.
            int slotCount = arrivals.Select(a => a.ScheduledFor).Distinct(StringComparer.Ordinal).Count();
            long expected = (long)slotCount * n;
            var cpu = after.Since(before);
            double cpuPerFireUs = received.Count == 0 ? double.NaN : cpu.CpuMs * 1000 / received.Count;

            var toPublish = fires.Select(f => f.LateMs).ToList();
            var toReceipt = Distribution.Of(received);
            // All n schedules share each slot: how long each slot's whole burst took to arrive. The median over slots
            // is robust to a one-off stall of the (shared) machine; the worst slot shows that stall.
            var burstValues = BurstEnds(arrivals, slots);
            var bursts = Distribution.Of(burstValues);
            var json = new JsonObject
            {
                ["schedules"] = n,
                ["trigger"] = trigger,
                ["log_level"] = level,
                ["receiver"] = receiverKind,
                ["wire"] = wire,
                ["window_seconds"] = Report.Round(cpu.Seconds),
                ["slot_to_fire_ms"] = fires.Count > 0 ? Report.ToJson(Distribution.Of(toPublish)) : null,
                ["slot_to_received_ms"] = Report.ToJson(toReceipt),
                ["burst_completion_ms"] = Report.ToJson(bursts),
                ["per_slot"] = PerSlot(arrivals, slots),
                ["received"] = received.Count,
                ["expected"] = expected,
                ["cpu_ms"] = Report.Round(cpu.CpuMs),
                ["cpu_per_fire_us"] = Report.Round(cpuPerFireUs),
                ["peak_rss_kb"] = rss,
                ["context_switches"] = cpu.Switches,
            };
            return new Measured(label, Reference, toPublish, received, burstValues, cpuPerFireUs, expected, json);
        }
    }

    /// <summary>
    /// The peer: no daemon, a <see cref="NatsConnection"/> in this process that, at every whole second, publishes the
    /// same number of task messages (a fresh id and the slot as created_at in each, the three headers) as fast as the
    /// client takes them. Its bodies are built shortly before the slot, it spins the last stretch to start on time, and it
    /// reuses one header set: the best a plain publisher does. Received by the same kind of subscriber (wire).
    /// </summary>
    private static async Task<Measured> RunRawLoopAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        int n = s.LatenessSchedules;
        string prefix = ctx.NewPrefix("latraw"), subject = $"{prefix}.tasks.incoming";
        string label = $"raw NatsConnection loop, {n} messages at every whole second, wire receiver";
        await using var receiver = await WireReceiver.StartAsync(ctx.Url, subject);
        await using var publisher = new NatsConnection(NatsOpts.Default with { Url = ctx.Url, Name = "bench-raw-publisher" });
        await publisher.ConnectAsync();
        var raw = NatsRawSerializer<byte[]>.Default;
        var headers = new NatsHeaders();
        var names = Enumerable.Range(0, n).Select(i => "s" + i.ToString("D6", CultureInfo.InvariantCulture)).ToArray();

        var start = DateTime.UtcNow;
        // This loop runs on the JIT: its first slots are compiled while they run, so it warms up longer.
        var from = start.AddSeconds(Math.Max(s.WarmupSeconds, 5));
        var to = from.AddSeconds(s.LatenessSeconds);
        // A thread of its own that sleeps, then spins, to each slot: no timer or thread-pool wake-up to be late.
        var loop = new Thread(() =>
        {
            var slot = new DateTime(start.Ticks - (start.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc).AddSeconds(1);
            for (; slot <= to; slot = slot.AddSeconds(1))
            {
                string slotText = slot.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                // The bodies are built shortly before the slot (as the daemon makes its messages ready), not right
                // after the last burst, where the building would share the cores with that burst's delivery.
                var early = slot - DateTime.UtcNow - TimeSpan.FromMilliseconds(100);
                if (early > TimeSpan.Zero)
                {
                    Thread.Sleep(early);
                }
                var bodies = new byte[n][];
                for (int i = 0; i < n; i++)
                {
                    bodies[i] = Encoding.UTF8.GetBytes(
                        $$$"""{"task_id":"{{{Guid.NewGuid()}}}","parent_task_id":null,"worker_type":"bench","payload":{},"model_tier":"local","priority":"normal","created_at":"{{{slotText}}}","request_id":null,"metadata":{"scheduled_by":"{{{names[i]}}}","scheduled_for":"{{{slotText}}}"}}""");
                }
                var wait = slot - DateTime.UtcNow - TimeSpan.FromMilliseconds(3);
                if (wait > TimeSpan.Zero)
                {
                    Thread.Sleep(wait);
                }
                while (DateTime.UtcNow < slot)
                {
                    Thread.SpinWait(20);
                }
                for (int i = 0; i < n; i++)
                {
                    headers["Loom-Schedule"] = names[i];
                    headers["Loom-Scheduled-For"] = slotText;
                    headers["Nats-Msg-Id"] = $"raw/{names[i]}/{slotText}/0";
                    var sent = publisher.PublishAsync(subject, bodies[i], headers, serializer: raw);
                    if (!sent.IsCompletedSuccessfully)
                    {
                        sent.AsTask().GetAwaiter().GetResult();
                    }
                }
            }
        }) { IsBackground = true, Name = "bench raw publisher" };
        loop.Start();
        await Task.Run(loop.Join);
        await Task.Delay(TimeSpan.FromSeconds(1));

        var slots = new SlotCache();
        var arrivals = receiver.Take()
            .Where(a => a.ScheduledFor is not null && InWindow(slots[a.ScheduledFor], from, to)).ToList();
        var received = arrivals.Select(a => (a.At - slots[a.ScheduledFor!]).TotalMilliseconds).ToList();
        var bursts = BurstEnds(arrivals, slots);
        long expected = (long)arrivals.Select(a => a.ScheduledFor).Distinct(StringComparer.Ordinal).Count() * n;
        var json = new JsonObject
        {
            ["messages_per_slot"] = n,
            ["receiver"] = "wire",
            ["slot_to_received_ms"] = Report.ToJson(Distribution.Of(received)),
            ["burst_completion_ms"] = Report.ToJson(Distribution.Of(bursts)),
            ["per_slot"] = PerSlot(arrivals, slots),
            ["received"] = arrivals.Count,
            ["expected"] = expected,
        };
        return new Measured(label, null, [], received, bursts, double.NaN, expected, json);
    }

    /// <summary>For each slot, when the last of its messages arrived (ms after the slot).</summary>
    private static List<double> BurstEnds(IEnumerable<Arrival> arrivals, SlotCache slots) =>
        arrivals.GroupBy(a => a.ScheduledFor!, StringComparer.Ordinal)
            .Select(g => g.Max(a => (a.At - slots[g.Key]).TotalMilliseconds)).ToList();

    /// <summary>Each slot's first and last receipt (ms after the slot), in slot order: where a slow slot lost its time.</summary>
    private static JsonArray PerSlot(IEnumerable<Arrival> arrivals, SlotCache slots) =>
        new(arrivals.GroupBy(a => a.ScheduledFor!, StringComparer.Ordinal)
            .OrderBy(g => slots[g.Key])
            .Select(g => (JsonNode)new JsonObject
            {
                ["slot"] = g.Key,
                ["first_ms"] = Report.Round(g.Min(a => (a.At - slots[g.Key]).TotalMilliseconds)),
                ["last_ms"] = Report.Round(g.Max(a => (a.At - slots[g.Key]).TotalMilliseconds)),
            })
            .ToArray());

    // Slots strictly inside the window, so each counted slot had all its fires and receipts observed.
    private static bool InWindow(DateTime slot, DateTime from, DateTime to) => slot > from && slot <= to;
}
