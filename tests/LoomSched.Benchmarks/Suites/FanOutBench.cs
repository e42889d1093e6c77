using System.Text.Json.Nodes;
using LoomSched.Benchmarks.Support;
using NATS.Client.Core;

namespace LoomSched.Benchmarks.Suites;

/// <summary>
/// 2. Fan-out. One fire of a schedule expanding (<c>range</c>) to 100,000 maps, triggered over the control subject:
/// messages per second from the slot to the last message a subscriber receives, on each wire (bare, envelope). The peer, in the same run and
/// through the same subscriber, is a plain <see cref="NatsConnection"/> publish loop of the very bodies and headers
/// the daemon sent. Runs alternate (daemon, raw, daemon, raw ...) after one unrecorded warm-up of each. Wires are
/// compared like for like: each wire's daemon/raw ratio, one over the other (an envelope body is larger, and so
/// slower to publish by any loop).
/// The subscriber is a <see cref="WireReceiver"/>, in a process of its own, which stamps each socket read: a
/// NATS.Client.Core subscriber in this process, which parses, copies and keeps every message, took about half of the
/// two cores during a burst (profiled), in the very process whose loop is the peer.
/// </summary>
internal static class FanOutBench
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    public static async Task RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        int n = s.FanOutCount;
        var timeout = TimeSpan.FromSeconds(Math.Max(120, n / 500.0));
        await using var publisher = new NatsConnection(NatsOpts.Default with { Url = ctx.Url, Name = "bench-raw-publisher" });
        await publisher.ConnectAsync();

        // One daemon per wire, each with its own subject and receiver, started and warmed up before any run counts;
        // the runs then alternate over the wires (daemon, its raw loop, the next wire's daemon, ...), so that a drift
        // of the shared machine's load falls on every wire alike.
        var wires = new List<WireRuns>();
        try
        {
            foreach (string wire in s.Wires)
            {
                wires.Add(await WireRuns.StartAsync(ctx, publisher, wire, n, timeout));
            }
            for (int run = 0; run < s.FanOutRuns; run++)
            {
                foreach (var w in wires)
                {
                    w.DaemonRuns.Add(await TriggerOnceAsync(ctx, w.Daemon, w.Receiver, w.Prefix, w.Name, n, timeout));
                    await Task.Delay(300);
                    w.RawRuns.Add(await PublishRawAsync(ctx, publisher, w.Receiver, w.Subject, w.Captured, timeout));
                    await Task.Delay(300);
                }
            }
            foreach (var w in wires)
            {
                w.PeakRss = w.Daemon.PeakRssKb;
                await w.Daemon.StopAsync();
                Report(ctx, w, n);
            }
            if (wires.Count == 2)
            {
                CompareWires(ctx, wires[0], wires[1]);
            }
        }
        finally
        {
            foreach (var w in wires)
            {
                await w.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// The second wire against the first, per round. Its bodies are larger (an envelope's by about two thirds), and
    /// a publish loop of larger bodies is slower by itself: the like-for-like measure is each wire's daemon rate as a
    /// share of its own raw loop's (which sends that wire's very bodies), one wire's share over the other's. The
    /// plain rate ratio is shown beside it, with the bodies' sizes.
    /// </summary>
    private static void CompareWires(BenchContext ctx, WireRuns first, WireRuns second)
    {
        static string ratio(double v) => Support.Report.Num(v, "0.00");
        string pair = $"{second.Wire} / {first.Wire}";
        int rounds = Math.Min(first.DaemonRuns.Count, second.DaemonRuns.Count);
        var shares = Distribution.Of(Enumerable.Range(0, rounds).Select(i =>
            Share(second.DaemonRuns[i], second.RawRuns[i]) / Share(first.DaemonRuns[i], first.RawRuns[i])));
        var rates = Distribution.Of(first.DaemonRuns.Zip(second.DaemonRuns, (a, b) => a.SlotToLastMs / b.SlotToLastMs));
        var rawRates = Distribution.Of(first.RawRuns.Zip(second.RawRuns, (a, b) => a.Ms / b.Ms));
        int? firstBytes = BodyBytes(first), secondBytes = BodyBytes(second);
        string sizes = firstBytes is int firstSize && secondBytes is int secondSize
            ? $"bodies {secondSize:#,0} / {firstSize:#,0} bytes ({Support.Report.Num((double)secondSize / firstSize, "0.00")})"
            : "";

        ctx.Report.Add(new Row("fan-out", $"daemon/raw ratio, {pair} (per round; each raw loop sends its wire's bodies)",
            Support.Report.MedianSpread(shares, "", ratio).TrimEnd(), "≥ 0.9", "like for like"));
        ctx.Report.Add(new Row("fan-out", $"daemon rate, {pair} (per round)",
            Support.Report.MedianSpread(rates, "", ratio).TrimEnd(), "", sizes));
        ctx.Report.Add(new Row("fan-out", $"raw loop rate, {pair} (per round)",
            Support.Report.MedianSpread(rawRates, "", ratio).TrimEnd(), "", "the bodies' size alone"));
        ctx.Report.Results[$"fanout_{second.Wire}_over_{first.Wire}"] = new JsonObject
        {
            ["daemon_over_raw_ratio"] = Support.Report.ToJson(shares),
            ["daemon_rate"] = Support.Report.ToJson(rates),
            ["raw_rate"] = Support.Report.ToJson(rawRates),
            [$"{first.Wire}_body_bytes"] = firstBytes,
            [$"{second.Wire}_body_bytes"] = secondBytes,
        };
    }

    /// <summary>A daemon run's rate as a share of a raw loop's: the raw loop's time over the daemon's.</summary>
    private static double Share(DaemonRun daemon, RawRun raw) => raw.Ms / daemon.SlotToLastMs;

    private static int? BodyBytes(WireRuns w) => w.Captured.Count > 0 ? w.Captured[0].Body?.Length : null;

    private static void Report(BenchContext ctx, WireRuns w, int n)
    {
        var daemonRate = Distribution.Of(w.DaemonRuns.Select(r => n / r.SlotToLastMs * 1000));
        var rawRate = Distribution.Of(w.RawRuns.Select(r => n / r.Ms * 1000));
        var ratios = Distribution.Of(w.DaemonRuns.Zip(w.RawRuns, (d, r) => r.Ms / d.SlotToLastMs));
        var daemonCpu = Distribution.Of(w.DaemonRuns.Select(r => r.Cpu.Process));
        var rawCpu = Distribution.Of(w.RawRuns.Select(r => r.Cpu.Process));
        var serverCpuDaemon = Distribution.Of(w.DaemonRuns.Select(r => r.Cpu.Server));
        var serverCpuRaw = Distribution.Of(w.RawRuns.Select(r => r.Cpu.Server));
        var slotToLast = Distribution.Of(w.DaemonRuns.Select(r => r.SlotToLastMs));
        var slotToFirst = Distribution.Of(w.DaemonRuns.Select(r => r.SlotToFirstMs));
        static string rate(double v) => Support.Report.Num(v, "#,0");
        // The bare wire's rows keep their words (the README's history is in them); other wires say theirs.
        string on = w.Wire == "bare" ? "" : $" ({w.Wire} wire)";
        ctx.Report.Add(new Row("fan-out", $"1 fire → {n:#,0} messages: daemon, slot → last received{on}",
            Support.Report.MedianSpread(daemonRate, "msg/s", rate)));
        ctx.Report.Add(new Row("fan-out", $"raw NatsConnection publish loop, same bodies and headers{on}",
            Support.Report.MedianSpread(rawRate, "msg/s", rate)));
        ctx.Report.Add(new Row("fan-out", $"ratio daemon/raw (per pair of runs){on}",
            Support.Report.MedianSpread(ratios, "", v => Support.Report.Num(v, "0.00")).TrimEnd(), "≥ 0.7", "raw loop = 1"));
        ctx.Report.Add(new Row("fan-out", $"slot → last message received{on}", Support.Report.MedianSpread(slotToLast, "ms")));
        ctx.Report.Add(new Row("fan-out", $"slot → first message received{on}", Support.Report.MedianSpread(slotToFirst, "ms")));
        ctx.Report.Add(new Row("fan-out", $"CPU per fan-out: daemon / raw loop's process{on}",
            $"{Support.Report.Num(daemonCpu.P50, "0")} / {Support.Report.Num(rawCpu.P50, "0")} ms (medians; 10 ms ticks)"));
        ctx.Report.Add(new Row("fan-out", $"nats-server CPU meanwhile: daemon's / raw loop's{on}",
            $"{Support.Report.Num(serverCpuDaemon.P50, "0")} / {Support.Report.Num(serverCpuRaw.P50, "0")} ms"));
        ctx.Report.Add(new Row("fan-out", $"daemon peak RSS (VmHWM){on}", $"{Support.Report.Num(w.PeakRss / 1024.0, "0.0")} MiB"));
        ctx.Report.Results[w.Wire == "bare" ? "fanout" : $"fanout_{w.Wire}"] = new JsonObject
        {
            ["wire"] = w.Wire,
            ["messages"] = n,
            ["runs"] = w.DaemonRuns.Count,
            ["daemon_msgs_per_s"] = Support.Report.ToJson(daemonRate),
            ["raw_msgs_per_s"] = Support.Report.ToJson(rawRate),
            ["ratio_daemon_over_raw"] = Support.Report.ToJson(ratios),
            ["slot_to_last_ms"] = Support.Report.ToJson(slotToLast),
            ["slot_to_first_ms"] = Support.Report.ToJson(slotToFirst),
            ["raw_ms"] = new JsonArray([.. w.RawRuns.Select(r => Support.Report.Round(r.Ms))]),
            ["daemon_cpu_ms"] = Support.Report.ToJson(daemonCpu),
            ["raw_process_cpu_ms"] = Support.Report.ToJson(rawCpu),
            ["server_cpu_ms_daemon_runs"] = Support.Report.ToJson(serverCpuDaemon),
            ["server_cpu_ms_raw_runs"] = Support.Report.ToJson(serverCpuRaw),
            ["daemon_peak_rss_kb"] = w.PeakRss,
            ["body_bytes"] = BodyBytes(w),
        };
    }

    /// <summary>One wire's daemon, its subscriber, the bodies its raw loop sends, and the runs of both.</summary>
    private sealed class WireRuns : IAsyncDisposable
    {
        private WireRuns(string wire, string name, string prefix, WireReceiver receiver, Daemon daemon, List<Arrival> captured)
        {
            (Wire, Name, Prefix, Receiver, Daemon, Captured) = (wire, name, prefix, receiver, daemon, captured);
        }

        public string Wire { get; }
        public string Name { get; }
        public string Prefix { get; }
        public string Subject => $"{Prefix}.tasks.incoming";
        public WireReceiver Receiver { get; }
        public Daemon Daemon { get; }
        public List<Arrival> Captured { get; }
        public List<DaemonRun> DaemonRuns { get; } = [];
        public List<RawRun> RawRuns { get; } = [];
        public long PeakRss { get; set; }

        public static async Task<WireRuns> StartAsync(BenchContext ctx, NatsConnection publisher, string wire, int n, TimeSpan timeout)
        {
            // Names of the same length: the Nats-Msg-Id header, which carries it, is the same size on both wires.
            string name = wire == "bare" ? "fanout" : "fanenv", prefix = ctx.NewPrefix("fan");
            string path = ctx.WriteConfig($"{name}.yaml", Configs.FanOut(name, prefix, n, wire));
            string subject = $"{prefix}.tasks.incoming";
            var receiver = await WireReceiver.StartAsync(ctx.Url, subject);
            var (daemon, _) = await ctx.StartDaemonAsync(path, name, prefix, TimeSpan.FromSeconds(30), probeOnly: false);
            // The warm-up fire is also received, once, by a NATS.Client.Core subscriber that keeps the bodies and
            // headers: the raw loop sends those.
            List<Arrival> captured;
            await using (var capture = await Support.Receiver.StartAsync(ctx.Url, subject, keepBodies: true))
            {
                await TriggerOnceAsync(ctx, daemon, receiver, prefix, name, n, timeout);
                if (!await capture.WaitForCountAsync(n, timeout))
                {
                    throw new TimeoutException($"the capturing subscriber got {capture.Count} of {n} messages within {timeout.TotalSeconds} s");
                }
                captured = capture.Take();
            }
            await Task.Delay(300);
            await PublishRawAsync(ctx, publisher, receiver, subject, captured, timeout);
            await Task.Delay(300);
            return new WireRuns(wire, name, prefix, receiver, daemon, captured);
        }

        public async ValueTask DisposeAsync()
        {
            await Daemon.DisposeAsync();
            await Receiver.DisposeAsync();
        }
    }

    /// <summary>CPU time (ms) of the publishing process and of the NATS server over one run.</summary>
    private readonly record struct RunCpu(double Process, double Server);

    private sealed record DaemonRun(double SlotToFirstMs, double SlotToLastMs, RunCpu Cpu);

    private sealed record RawRun(double Ms, RunCpu Cpu);

    private static (ProcSample Process, ProcSample Server) CpuNow(BenchContext ctx, int pid) =>
        (ProcSample.Read(pid), ProcSample.Read(ctx.Server.Pid));

    private static RunCpu CpuSince(BenchContext ctx, int pid, (ProcSample Process, ProcSample Server) before)
    {
        var (process, server) = CpuNow(ctx, pid);
        return new RunCpu(process.Since(before.Process).StatCpuMs, server.Since(before.Server).StatCpuMs);
    }

    private static async Task<DaemonRun> TriggerOnceAsync(
        BenchContext ctx, Daemon daemon, WireReceiver receiver, string prefix, string name, int n, TimeSpan timeout)
    {
        receiver.TakeSpan();
        var cpu = CpuNow(ctx, daemon.Pid);
        using (var reply = await Control.RequestAsync(ctx.ControlConnection, $"{prefix}.scheduler.{name}",
            """{"action":"trigger","schedule":"burst"}""", TimeSpan.FromSeconds(5)))
        {
            if (reply is null || !reply.RootElement.GetProperty("ok").GetBoolean())
            {
                throw new InvalidOperationException($"trigger refused: {reply?.RootElement}");
            }
        }
        if (await receiver.WaitForCountAsync(n, timeout) is (false, var arrived))
        {
            throw new TimeoutException($"the daemon's fan-out delivered {arrived} of {n} messages within {timeout.TotalSeconds} s");
        }
        var (_, first, last, firstSlot) = receiver.TakeSpan();
        // A manual trigger's slot is the instant it was triggered: Loom-Scheduled-For carries it.
        var slot = Receiver.ParseSlot(firstSlot!);
        return new DaemonRun((first - slot).TotalMilliseconds, (last - slot).TotalMilliseconds, CpuSince(ctx, daemon.Pid, cpu));
    }

    private static async Task<RawRun> PublishRawAsync(
        BenchContext ctx, NatsConnection publisher, WireReceiver receiver, string subject, List<Arrival> messages, TimeSpan timeout)
    {
        receiver.TakeSpan();
        var cpu = CpuNow(ctx, Environment.ProcessId);
        var start = DateTime.UtcNow;
        // One header set for every message, as the daemon's publisher does: the client writes it out before the
        // publish completes.
        var headers = new NatsHeaders();
        foreach (var m in messages)
        {
            headers["Loom-Schedule"] = m.Schedule!;
            headers["Loom-Scheduled-For"] = m.ScheduledFor!;
            headers["Nats-Msg-Id"] = m.MessageId!;
            await publisher.PublishAsync(subject, m.Body, headers, serializer: Raw);
        }
        if (await receiver.WaitForCountAsync(messages.Count, timeout) is (false, var arrived))
        {
            throw new TimeoutException($"the raw loop delivered {arrived} of {messages.Count} messages within {timeout.TotalSeconds} s");
        }
        return new RawRun((receiver.TakeSpan().Last - start).TotalMilliseconds, CpuSince(ctx, Environment.ProcessId, cpu));
    }
}
