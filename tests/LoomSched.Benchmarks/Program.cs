using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using LoomSched.Benchmarks.Suites;
using LoomSched.Benchmarks.Support;
using NATS.Client.Core;

// The benchmark suite: the published binary against a local nats-server. It measures and never fails on timing;
// it exits non-zero only when a benchmark could not run at all.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (args is [WireReceiver.Flag, var receiverUrl, var receiverSubject])
{
    // The lateness suite's subscriber, in a process of its own (see WireReceiver).
    return WireReceiver.RunChild(receiverUrl, receiverSubject);
}
string root = FindRoot();
var settings = BenchSettings.FromEnvironment(root);
if (!File.Exists(settings.Binary))
{
    Console.Error.WriteLine($"bench: no binary at {settings.Binary}; run ./build.sh first (or set BENCH_BINARY)");
    return 2;
}

var report = new Report();
var total = Stopwatch.StartNew();
await using var server = await NatsServer.StartAsync(settings.NatsServer);
await using var control = new NatsConnection(NatsOpts.Default with { Url = server.Url, Name = "bench-control" });
await control.ConnectAsync();
var ctx = new BenchContext(settings, server, control, report);

report.Json["machine"] = Machine.Describe(server);
report.Json["settings"] = new JsonObject
{
    ["scale"] = settings.Scale,
    ["binary"] = settings.Binary,
    ["lateness_schedules"] = settings.LatenessSchedules,
    ["lateness_seconds"] = settings.LatenessSeconds,
    ["lateness_runs"] = settings.LatenessRuns,
    ["warmup_seconds"] = settings.WarmupSeconds,
    ["fanout_count"] = settings.FanOutCount,
    ["fanout_runs"] = settings.FanOutRuns,
    ["start_runs"] = settings.StartRuns,
    ["idle_seconds"] = settings.IdleSeconds,
    ["scale_schedules"] = settings.ScaleSchedules,
    ["scale_seconds"] = settings.ScaleSeconds,
    ["runtime_schedules"] = settings.RuntimeSchedules,
    ["runtime_seconds"] = settings.RuntimeSeconds,
    ["runtime_creates"] = settings.RuntimeCreates,
};
Console.Error.WriteLine($"bench: {settings.Scale} run of {string.Join(", ", BenchSettings.Suites.Where(settings.Runs))} on {settings.Binary}");

var failures = new List<string>();
(string Name, Func<BenchContext, Task> Run)[] suites =
[
    ("startup", StartupBench.RunAsync),
    ("fanout", FanOutBench.RunAsync),
    ("lateness", LatenessBench.RunAsync),
    ("scale", ScaleBench.RunAsync),
    ("runtime", RuntimeBench.RunAsync),
    ("idle", IdleBench.RunAsync),
];
foreach (var (name, run) in suites)
{
    if (!settings.Runs(name))
    {
        continue;
    }
    Console.Error.WriteLine($"==> {name}");
    var watch = Stopwatch.StartNew();
    try
    {
        await run(ctx);
    }
    catch (Exception ex)
    {
        failures.Add($"{name}: {ex.GetType().Name}: {ex.Message}");
        report.Add(new Row(name, "did not run", $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}"));
    }
    Console.Error.WriteLine($"    ({watch.Elapsed.TotalSeconds:0} s)");
}

report.Json["machine"]!["load_average_end"] = Machine.LoadAverage();
report.Json["total_seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1);
report.Write(settings.OutputPath);
Console.Out.WriteLine();
Console.Out.WriteLine(Machine.Summary(report.Json["machine"]!.AsObject()));
Console.Out.WriteLine();
Console.Out.Write(report.Table());
Console.Out.WriteLine();
Console.Out.WriteLine($"{settings.Scale} run in {total.Elapsed.TotalSeconds:0} s; written to {settings.OutputPath}");
foreach (var failure in failures)
{
    Console.Error.WriteLine($"bench: {failure}");
}
try
{
    Directory.Delete(settings.WorkDir, recursive: true);
}
catch (IOException)
{
}
return failures.Count == 0 ? 0 : 1;

static string FindRoot()
{
    foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LoomSchedAot.sln")))
            {
                return dir.FullName;
            }
        }
    }
    throw new InvalidOperationException("cannot find the repository root (LoomSchedAot.sln)");
}
