using System.Diagnostics;
using System.Text.Json.Nodes;
using LoomSched.Benchmarks.Support;

namespace LoomSched.Benchmarks.Suites;

/// <summary>
/// 3. Start-up and footprint: exec → the control subject answers <c>status</c>; the binary's size; resident memory
/// idle with 10 and with 100,000 schedules; <c>loomsched validate</c> of 100,000 schedules.
/// </summary>
internal static class StartupBench
{
    public static async Task RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        var json = new JsonObject();
        ctx.Report.Results["startup"] = json;

        // exec → status, 10 schedules that do not fire during the run.
        string name = "startup", prefix = ctx.NewPrefix("start");
        string small = ctx.WriteConfig("startup-10.yaml", Configs.Tasks(name, prefix, 10, _ => Configs.Interval(3600)));
        var starts = new List<double>();
        var stops = new List<double>();
        for (int i = 0; i < s.StartRuns; i++)
        {
            var (daemon, ready) = await ctx.StartDaemonAsync(small, name, prefix, TimeSpan.FromSeconds(10), probeOnly: false);
            await using (daemon)
            {
                starts.Add(ready.TotalMilliseconds);
                stops.Add((await daemon.StopAsync()).TotalMilliseconds);
            }
        }
        var start = Distribution.Of(starts);
        var stop = Distribution.Of(stops);
        // The floor under that: the same binary's exec → exit of --version, i.e. the process and the runtime
        // starting (page faults on the binary's pages), which no change to the daemon's own start-up reaches.
        var floor = Distribution.Of(await ExecTimesAsync(s.Binary, ["--version"], s.StartRuns));
        ctx.Report.Add(new Row("start-up", "exec → status answered (10 schedules)", Report.MedianSpread(start, "ms"), "≤ 30 ms"));
        ctx.Report.Add(new Row("start-up", "floor: exec → exit of loomsched --version", Report.MedianSpread(floor, "ms"), "",
            "the process and runtime alone"));
        json["version_exec_ms"] = Report.ToJson(floor);
        ctx.Report.Add(new Row("start-up", "SIGTERM → exit, idle", Report.MedianSpread(stop, "ms"), "", "design: ≤ 2 s"));
        json["exec_to_status_ms"] = Report.ToJson(start);
        json["sigterm_to_exit_ms"] = Report.ToJson(stop);

        long size = new FileInfo(s.Binary).Length;
        ctx.Report.Add(new Row("footprint", "binary size", $"{Report.Num(size / 1e6, "0.00")} MB ({Report.Num(size / 1048576.0, "0.00")} MiB)", "≤ 20 MB"));
        json["binary_bytes"] = size;

        // Resident memory, idle, 10 schedules.
        var (idle10, _) = await ctx.StartDaemonAsync(small, name, prefix, TimeSpan.FromSeconds(10), probeOnly: false);
        await using (idle10)
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            long rss = idle10.RssKb, threads = idle10.ThreadCount;
            await idle10.StopAsync();
            ctx.Report.Add(new Row("footprint", "RSS idle, 10 schedules", $"{Report.Num(rss / 1024.0, "0.0")} MiB ({threads} threads)", "≤ 25 MiB"));
            json["rss_idle_10_kb"] = rss;
            json["threads_idle_10"] = threads;
        }

        // A large config: half daily crons, half intervals of an hour or more; none fires during the run.
        string bigName = "large", bigPrefix = ctx.NewPrefix("large");
        string cron = Configs.FarDailyCron();
        string big = ctx.WriteConfig("large.yaml", Configs.Tasks(bigName, bigPrefix, s.LargeSchedules,
            i => i % 2 == 0 ? cron : Configs.Interval(3600 + i % 1000)));
        var (idleBig, bigReady) = await ctx.StartDaemonAsync(big, bigName, bigPrefix, TimeSpan.FromSeconds(300), probeOnly: true);
        await using (idleBig)
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            long rss = idleBig.RssKb, peak = idleBig.PeakRssKb;
            await idleBig.StopAsync();
            ctx.Report.Add(new Row("footprint", $"RSS idle, {s.LargeSchedules:#,0} schedules (peak)",
                $"{Report.Num(rss / 1024.0, "0.0")} MiB ({Report.Num(peak / 1024.0, "0.0")} MiB)", "(≤ 25 MiB is for the small config)"));
            ctx.Report.Add(new Row("start-up", $"exec → control answers ({s.LargeSchedules:#,0} schedules; probe, see notes)",
                $"{Report.Ms(bigReady.TotalMilliseconds)} ms"));
            json["rss_idle_large_kb"] = rss;
            json["peak_rss_large_kb"] = peak;
            json["exec_to_status_large_ms"] = Report.Round(bigReady.TotalMilliseconds);
        }

        // validate: load and check every schedule, no NATS.
        var validates = new List<double>();
        for (int i = 0; i < s.ValidateRuns; i++)
        {
            var watch = Stopwatch.StartNew();
            var info = new ProcessStartInfo(s.Binary, ["validate", big]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(info)!;
            var output = p.StandardOutput.ReadToEndAsync();
            var errors = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            validates.Add(watch.Elapsed.TotalMilliseconds);
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"validate exited {p.ExitCode}: {(await output)[..Math.Min(500, (await output).Length)]}{await errors}");
            }
        }
        var validate = Distribution.Of(validates);
        ctx.Report.Add(new Row("start-up", $"validate {s.LargeSchedules:#,0} schedules (wall)", Report.MedianSpread(validate, "ms")));
        json["validate_large_ms"] = Report.ToJson(validate);
        json["large_schedules"] = s.LargeSchedules;
        json["large_config_bytes"] = new FileInfo(big).Length;
    }

    /// <summary>Wall time of each of <paramref name="runs"/> runs of the binary with <paramref name="args"/>, to its exit.</summary>
    private static async Task<List<double>> ExecTimesAsync(string binary, string[] args, int runs)
    {
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var watch = Stopwatch.StartNew();
            using var p = Process.Start(new ProcessStartInfo(binary, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            await Task.WhenAll(p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync(), p.WaitForExitAsync());
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        return times;
    }
}
