using System.Globalization;
using System.Text.Json.Nodes;
using LoomSched.Benchmarks.Support;

namespace LoomSched.Benchmarks.Suites;

/// <summary>
/// 5. Scale. 100,000 interval schedules with intervals spread evenly over 10–100 s (millisecond steps, so their
/// slots are staggered rather than piled on a few instants): lateness to the fire and to the subscriber, fires per
/// second and CPU per fire.
/// </summary>
internal static class ScaleBench
{
    public static async Task RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        int n = s.ScaleSchedules;
        string name = "scale", prefix = ctx.NewPrefix("scale");
        string path = ctx.WriteConfig("scale.yaml", Configs.Tasks(name, prefix, n,
            i => Configs.Interval(Math.Round(10 + 90.0 * i / n, 3))));

        await using var receiver = await Receiver.StartAsync(ctx.Url, $"{prefix}.tasks.incoming");
        var (daemon, ready) = await ctx.StartDaemonAsync(path, name, prefix, TimeSpan.FromSeconds(300), probeOnly: true,
            "--log-format", "json", "--log-level", s.ScaleLogLevel);
        await using (daemon)
        {
            // Let the start-up's own work settle; the first slots come 10 s after the engine started.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var before = ProcSample.Read(daemon.Pid);
            await Task.Delay(TimeSpan.FromSeconds(s.ScaleSeconds));
            var after = ProcSample.Read(daemon.Pid);
            await Task.Delay(TimeSpan.FromSeconds(1));
            long peak = daemon.PeakRssKb;
            await daemon.StopAsync();

            var slots = new SlotCache();
            var arrivals = receiver.Take()
                .Where(a => a.ScheduledFor is not null && slots[a.ScheduledFor] > before.At && slots[a.ScheduledFor] <= after.At)
                .ToList();
            var received = Distribution.Of(arrivals.Select(a => (a.At - slots[a.ScheduledFor!]).TotalMilliseconds));
            var fires = FireLog.Read(daemon).Where(f => slots[f.Slot] > before.At && slots[f.Slot] <= after.At).ToList();
            var toFire = Distribution.Of(fires.Select(f => f.LateMs));
            var cpu = after.Since(before);
            double perFireUs = arrivals.Count == 0 ? double.NaN : cpu.CpuMs * 1000 / arrivals.Count;
            double firesPerSecond = arrivals.Count / cpu.Seconds;
            string label = $"{n:#,0} intervals 10–100 s, log {s.ScaleLogLevel}";
            if (fires.Count > 0)
            {
                ctx.Report.Add(new Row("scale", $"{label}: slot → fire (late_ms)", Report.Percentiles(toFire), "p99 ≤ 5 ms"));
            }
            ctx.Report.Add(new Row("scale", $"{label}: slot → received", Report.Percentiles(received), "p99 ≤ 5 ms"));
            ctx.Report.Add(new Row("scale", "CPU per fire (all threads), fires/s",
                $"{Report.Num(perFireUs, "0.0")} µs · {Report.Num(firesPerSecond, "0")}/s over {Report.Num(cpu.Seconds, "0")} s " +
                $"({Report.Num(cpu.CpuMs / cpu.Seconds / 10, "0.0")}% of a core)" +
                (fires.Count > 0 ? $"; received {arrivals.Count} of {fires.Count} fired" : "")));
            ctx.Report.Add(new Row("scale", "exec → status answered; peak RSS",
                $"{Report.Ms(ready.TotalMilliseconds)} ms; {Report.Num(peak / 1024.0, "0.0")} MiB"));
            ctx.Report.Results["scale"] = new JsonObject
            {
                ["schedules"] = n,
                ["log_level"] = s.ScaleLogLevel,
                ["window_seconds"] = Report.Round(cpu.Seconds),
                ["fires"] = arrivals.Count,
                ["logged_fires"] = fires.Count,
                ["slot_to_fire_ms"] = fires.Count > 0 ? Report.ToJson(toFire) : null,
                ["slot_to_received_ms"] = Report.ToJson(received),
                ["cpu_ms"] = Report.Round(cpu.CpuMs),
                ["cpu_per_fire_us"] = Report.Round(perFireUs),
                ["exec_to_status_ms"] = Report.Round(ready.TotalMilliseconds),
                ["peak_rss_kb"] = peak,
                ["interval_formula"] = string.Create(CultureInfo.InvariantCulture, $"10 + 90·i/{n} s"),
            };
        }
    }
}
