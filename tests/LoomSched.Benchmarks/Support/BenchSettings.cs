using System.Globalization;

namespace LoomSched.Benchmarks.Support;

/// <summary>
/// What to run and for how long. <c>BENCH_SCALE=full</c> (the default) gives the durations of the issue (about ten
/// minutes in all); <c>BENCH_SCALE=quick</c> a smoke run of about a minute. Every value can be overridden alone.
/// </summary>
internal sealed record BenchSettings
{
    public required string Scale { get; init; }
    public required string Binary { get; init; }
    public required string OutputPath { get; init; }
    public required string WorkDir { get; init; }
    public required string NatsServer { get; init; }
    public required IReadOnlySet<string> Only { get; init; }

    /// <summary>Lateness: schedules per run, seconds measured per run, seconds of warm-up discarded, log levels.</summary>
    public int LatenessSchedules { get; init; }
    public double LatenessSeconds { get; init; }
    public double WarmupSeconds { get; init; }
    public IReadOnlyList<string> LatenessLogLevels { get; init; } = [];

    /// <summary>
    /// Lateness: runs of each main row (the peer, and each trigger with the first receiver at the first log level),
    /// taken in rounds; the other rows run once.
    /// </summary>
    public int LatenessRuns { get; init; }

    /// <summary>
    /// Lateness: the subscribers that measure receipt, each a run of its own: <c>wire</c> (a plain socket, stamped
    /// per read) at every log level, <c>client</c> (NATS.Client.Core, stamped after the client's parsing) at the first.
    /// </summary>
    public IReadOnlyList<string> LatenessReceivers { get; init; } = [];

    /// <summary>
    /// The wires measured (<c>BENCH_WIRES</c>, <c>bare,envelope</c>): the fan-out runs a daemon on each, alternated;
    /// lateness adds a main row of each trigger on every wire after the first.
    /// </summary>
    public IReadOnlyList<string> Wires { get; init; } = [];

    /// <summary>Fan-out: maps per fire and runs of each peer (daemon, raw loop), alternated.</summary>
    public int FanOutCount { get; init; }
    public int FanOutRuns { get; init; }

    /// <summary>Start-up: runs of exec → status; runs of validate on the large config; schedules of that config.</summary>
    public int StartRuns { get; init; }
    public int ValidateRuns { get; init; }
    public int LargeSchedules { get; init; }

    /// <summary>Idle: daily cron schedules and seconds watched.</summary>
    public int IdleSchedules { get; init; }
    public double IdleSeconds { get; init; }

    /// <summary>Scale: schedules (intervals spread over 10–100 s) and seconds measured.</summary>
    public int ScaleSchedules { get; init; }
    public double ScaleSeconds { get; init; }
    public string ScaleLogLevel { get; init; } = "info";

    /// <summary>
    /// Run-time schedules: values written to the KV bucket before the daemon starts (intervals spread over 10–100 s
    /// as in scale), seconds their fires are measured, and the <c>create</c> actions timed.
    /// </summary>
    public int RuntimeSchedules { get; init; }
    public double RuntimeSeconds { get; init; }
    public int RuntimeCreates { get; init; }

    public static readonly string[] Suites = ["lateness", "fanout", "startup", "idle", "scale", "runtime"];

    public static BenchSettings FromEnvironment(string root)
    {
        string scale = Env("BENCH_SCALE") ?? "full";
        bool quick = scale switch
        {
            "full" => false,
            "quick" => true,
            _ => throw new ArgumentException($"BENCH_SCALE must be full or quick, got \"{scale}\""),
        };
        var only = (Env("BENCH_ONLY") ?? string.Join(',', Suites))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        foreach (var name in only)
        {
            if (!Suites.Contains(name))
            {
                throw new ArgumentException($"BENCH_ONLY: unknown suite \"{name}\"; known: {string.Join(", ", Suites)}");
            }
        }
        var artifacts = Path.Combine(root, "artifacts");
        return new BenchSettings
        {
            Scale = scale,
            Binary = Env("BENCH_BINARY") ?? Env("LOOMSCHED_BINARY") ?? Path.Combine(artifacts, "loomsched"),
            OutputPath = Env("BENCH_OUT") ?? Path.Combine(artifacts, "bench.json"),
            WorkDir = Directory.CreateTempSubdirectory("loomsched-bench-").FullName,
            NatsServer = Env("BENCH_NATS_SERVER") ?? "nats-server",
            Only = only,
            LatenessSchedules = Int("BENCH_LATENESS_SCHEDULES", 1000),
            LatenessSeconds = Num("BENCH_LATENESS_SECONDS", quick ? 6 : 30),
            WarmupSeconds = Num("BENCH_WARMUP_SECONDS", 2),
            LatenessRuns = Int("BENCH_LATENESS_RUNS", quick ? 1 : 3),
            LatenessLogLevels = (Env("BENCH_LATENESS_LOG_LEVELS") ?? "info,warn")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            LatenessReceivers = (Env("BENCH_LATENESS_RECEIVERS") ?? "wire,client")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Wires = ParseWires(Env("BENCH_WIRES") ?? "bare,envelope"),
            FanOutCount = Int("BENCH_FANOUT_COUNT", 100_000),
            FanOutRuns = Int("BENCH_FANOUT_RUNS", quick ? 2 : 9),
            StartRuns = Int("BENCH_START_RUNS", quick ? 5 : 20),
            ValidateRuns = Int("BENCH_VALIDATE_RUNS", quick ? 1 : 3),
            LargeSchedules = Int("BENCH_LARGE_SCHEDULES", 100_000),
            IdleSchedules = Int("BENCH_IDLE_SCHEDULES", 1000),
            IdleSeconds = Num("BENCH_IDLE_SECONDS", quick ? 10 : 60),
            ScaleSchedules = Int("BENCH_SCALE_SCHEDULES", 100_000),
            ScaleSeconds = Num("BENCH_SCALE_SECONDS", quick ? 20 : 60),
            ScaleLogLevel = Env("BENCH_SCALE_LOG_LEVEL") ?? "info",
            RuntimeSchedules = Int("BENCH_RUNTIME_SCHEDULES", 100_000),
            RuntimeSeconds = Num("BENCH_RUNTIME_SECONDS", quick ? 20 : 60),
            RuntimeCreates = Int("BENCH_RUNTIME_CREATES", 50),
        };
    }

    public bool Runs(string suite) => Only.Contains(suite);

    private static string[] ParseWires(string list)
    {
        var wires = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (wires.Length == 0 || wires.Any(w => w is not ("bare" or "envelope")) || wires.Distinct().Count() != wires.Length)
        {
            throw new ArgumentException($"BENCH_WIRES must list bare and/or envelope once each, got \"{list}\"");
        }
        return wires;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    private static int Int(string name, int fallback) =>
        Env(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    private static double Num(string name, double fallback) =>
        Env(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
