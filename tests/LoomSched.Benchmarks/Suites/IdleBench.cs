using System.Text.Json.Nodes;
using LoomSched.Benchmarks.Support;

namespace LoomSched.Benchmarks.Suites;

/// <summary>
/// 4. Idle cost. A thousand daily cron schedules, none due during the run: CPU time and wake-ups (context switches
/// of every thread) over a minute of idling, after the start-up has settled.
/// </summary>
internal static class IdleBench
{
    public static async Task RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        string name = "idle", prefix = ctx.NewPrefix("idle");
        string cron = Configs.FarDailyCron();
        string path = ctx.WriteConfig("idle.yaml", Configs.Tasks(name, prefix, s.IdleSchedules, _ => cron));
        var (daemon, _) = await ctx.StartDaemonAsync(path, name, prefix, TimeSpan.FromSeconds(30), probeOnly: false);
        await using (daemon)
        {
            // Let the start-up's own work (connect, subscribe, first status) finish.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var before = ProcSample.Read(daemon.Pid);
            await Task.Delay(TimeSpan.FromSeconds(s.IdleSeconds));
            var after = ProcSample.Read(daemon.Pid);
            await daemon.StopAsync();

            var d = after.Since(before);
            double perMinute = d.Switches / d.Seconds * 60;
            string who = d.Threads.Count == 0
                ? "none"
                : string.Join(", ", d.Threads.Take(4).Select(t => $"{t.Name} {t.Voluntary + t.Involuntary}"));
            ctx.Report.Add(new Row("idle", $"{s.IdleSchedules} daily crons, {Report.Num(d.Seconds, "0")} s: CPU",
                $"{Report.Num(d.CpuMs, "0.00")} ms (stat ticks: {Report.Num(d.StatCpuMs, "0")} ms)", "< 20 ms"));
            ctx.Report.Add(new Row("idle", "wake-ups (context switches, all threads)",
                $"{d.Switches} ({Report.Num(perMinute, "0.#")}/min; {who})", "no periodic wake-up"));
            ctx.Report.Results["idle"] = new JsonObject
            {
                ["schedules"] = s.IdleSchedules,
                ["seconds"] = Report.Round(d.Seconds),
                ["cpu_ms"] = Report.Round(d.CpuMs),
                ["stat_cpu_ms"] = Report.Round(d.StatCpuMs),
                ["voluntary_switches"] = d.Voluntary,
                ["involuntary_switches"] = d.Involuntary,
                ["threads_exited"] = d.ThreadsExited,
                ["threads"] = new JsonArray([.. d.Threads.Select(t => (JsonNode)new JsonObject
                {
                    ["tid"] = t.Tid, ["name"] = t.Name, ["cpu_ms"] = Report.Round(t.RunNs / 1e6),
                    ["voluntary"] = t.Voluntary, ["involuntary"] = t.Involuntary,
                })]),
            };
        }
    }
}
