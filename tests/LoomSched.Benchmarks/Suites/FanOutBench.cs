using System.Text.Json.Nodes;
using LoomSched.Benchmarks.Support;
using NATS.Client.Core;

namespace LoomSched.Benchmarks.Suites;

/// <summary>
/// 2. Fan-out. One fire of a schedule expanding (<c>range</c>) to 100,000 maps, triggered over the control subject:
/// messages per second from the slot to the last message a subscriber receives. The peer, in the same run and
/// through the same subscriber, is a plain <see cref="NatsConnection"/> publish loop of the very bodies and headers
/// the daemon sent. Runs alternate (daemon, raw, daemon, raw ...) after one unrecorded warm-up of each.
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
        string name = "fanout", prefix = ctx.NewPrefix("fan"), subject = $"{prefix}.tasks.incoming";
        string path = ctx.WriteConfig("fanout.yaml", Configs.FanOut(name, prefix, n));
        var timeout = TimeSpan.FromSeconds(Math.Max(120, n / 500.0));

        await using var receiver = await WireReceiver.StartAsync(ctx.Url, subject);
        await using var publisher = new NatsConnection(NatsOpts.Default with { Url = ctx.Url, Name = "bench-raw-publisher" });
        await publisher.ConnectAsync();
        var (daemon, _) = await ctx.StartDaemonAsync(path, name, prefix, TimeSpan.FromSeconds(30), probeOnly: false);
        await using (daemon)
        {
            // The warm-up fire is also received, once, by a NATS.Client.Core subscriber that keeps the bodies and
            // headers: the raw loop sends those.
            List<Arrival> captured;
            await using (var capture = await Receiver.StartAsync(ctx.Url, subject, keepBodies: true))
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

            var daemonRuns = new List<DaemonRun>();
            var rawRuns = new List<RawRun>();
            for (int run = 0; run < s.FanOutRuns; run++)
            {
                daemonRuns.Add(await TriggerOnceAsync(ctx, daemon, receiver, prefix, name, n, timeout));
                await Task.Delay(300);
                rawRuns.Add(await PublishRawAsync(ctx, publisher, receiver, subject, captured, timeout));
                await Task.Delay(300);
            }
            long peakRss = daemon.PeakRssKb;
            await daemon.StopAsync();

            var daemonRate = Distribution.Of(daemonRuns.Select(r => n / r.SlotToLastMs * 1000));
            var rawRate = Distribution.Of(rawRuns.Select(r => n / r.Ms * 1000));
            var ratios = Distribution.Of(daemonRuns.Zip(rawRuns, (d, r) => r.Ms / d.SlotToLastMs));
            var daemonCpu = Distribution.Of(daemonRuns.Select(r => r.Cpu.Process));
            var rawCpu = Distribution.Of(rawRuns.Select(r => r.Cpu.Process));
            var serverCpuDaemon = Distribution.Of(daemonRuns.Select(r => r.Cpu.Server));
            var serverCpuRaw = Distribution.Of(rawRuns.Select(r => r.Cpu.Server));
            var slotToLast = Distribution.Of(daemonRuns.Select(r => r.SlotToLastMs));
            var slotToFirst = Distribution.Of(daemonRuns.Select(r => r.SlotToFirstMs));
            string rate(double v) => Report.Num(v, "#,0");
            ctx.Report.Add(new Row("fan-out", $"1 fire → {n:#,0} messages: daemon, slot → last received",
                Report.MedianSpread(daemonRate, "msg/s", rate)));
            ctx.Report.Add(new Row("fan-out", "raw NatsConnection publish loop, same bodies and headers",
                Report.MedianSpread(rawRate, "msg/s", rate)));
            ctx.Report.Add(new Row("fan-out", "ratio daemon/raw (per pair of runs)",
                Report.MedianSpread(ratios, "", v => Report.Num(v, "0.00")).TrimEnd(), "≥ 0.7", "raw loop = 1"));
            ctx.Report.Add(new Row("fan-out", "slot → last message received", Report.MedianSpread(slotToLast, "ms")));
            ctx.Report.Add(new Row("fan-out", "slot → first message received", Report.MedianSpread(slotToFirst, "ms")));
            ctx.Report.Add(new Row("fan-out", "CPU per fan-out: daemon / raw loop's process",
                $"{Report.Num(daemonCpu.P50, "0")} / {Report.Num(rawCpu.P50, "0")} ms (medians; 10 ms ticks)"));
            ctx.Report.Add(new Row("fan-out", "nats-server CPU meanwhile: daemon's / raw loop's",
                $"{Report.Num(serverCpuDaemon.P50, "0")} / {Report.Num(serverCpuRaw.P50, "0")} ms"));
            ctx.Report.Add(new Row("fan-out", "daemon peak RSS (VmHWM)", $"{Report.Num(peakRss / 1024.0, "0.0")} MiB"));
            ctx.Report.Results["fanout"] = new JsonObject
            {
                ["messages"] = n,
                ["runs"] = s.FanOutRuns,
                ["daemon_msgs_per_s"] = Report.ToJson(daemonRate),
                ["raw_msgs_per_s"] = Report.ToJson(rawRate),
                ["ratio_daemon_over_raw"] = Report.ToJson(ratios),
                ["slot_to_last_ms"] = Report.ToJson(slotToLast),
                ["slot_to_first_ms"] = Report.ToJson(slotToFirst),
                ["raw_ms"] = new JsonArray([.. rawRuns.Select(r => Report.Round(r.Ms))]),
                ["daemon_cpu_ms"] = Report.ToJson(daemonCpu),
                ["raw_process_cpu_ms"] = Report.ToJson(rawCpu),
                ["server_cpu_ms_daemon_runs"] = Report.ToJson(serverCpuDaemon),
                ["server_cpu_ms_raw_runs"] = Report.ToJson(serverCpuRaw),
                ["daemon_peak_rss_kb"] = peakRss,
                ["body_bytes"] = captured.Count > 0 ? captured[0].Body?.Length : null,
            };
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
