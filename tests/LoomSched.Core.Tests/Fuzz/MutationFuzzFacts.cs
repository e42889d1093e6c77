using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LoomSched.Config;
using LoomSched.Control;
using LoomSched.Scheduling;
using LoomSched.Tests.Fuzz;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Core.Tests.Fuzz;

/// <summary>
/// A seeded, bounded mutation fuzz (issue #20) of what the CLI and the daemon run on user input, in process: config
/// loading (validate), the upcoming slots of what loads (next), and control requests. Seeds: the configs of
/// <see cref="Seeds"/> and a few control request bodies. The same seed gives the same cases; a failure names
/// the seed and case and shows its input, shrunk line by line, to be kept as an ordinary regression row or file.
/// By default 3,000 config cases and 5,000 control requests (seed 20), some seconds in all; LOOMSCHED_FUZZ_CASES sets
/// the number of each for a longer run (e.g. 50000) and LOOMSCHED_FUZZ_SEED another seed.
/// </summary>
public sealed class MutationFuzzFacts : IDisposable
{
    private const int DefaultConfigCases = 3_000;
    private const int DefaultControlCases = 5_000;
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(5);
    private static readonly DateTimeOffset From = new(2026, 12, 7, 3, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset NearTheEnd = new(9999, 12, 30, 0, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Directory.CreateTempSubdirectory("loomsched-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("LOOMSCHED_FUZZ_SEED"), CultureInfo.InvariantCulture, out int s) ? s : 20;

    private static int Cases(int byDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable("LOOMSCHED_FUZZ_CASES"), CultureInfo.InvariantCulture, out int n) && n > 0 ? n : byDefault;

    private static readonly string[] ControlSeeds =
    [
        "",
        "{}",
        """{"action":"status"}""",
        """{"action": "trigger", "schedule": "a"}""",
        """{"action":"pause","schedule":"a"}""",
        """{"action":"resume","schedule":"a"}""",
        """{"action":"reload"}""",
        """{"action":"status","action":"reload"}""",
        """{"action":"trigger","schedule":"b","extra":[1,{"x":null}]}""",
        "{\n  \"action\": \"status\"\n}\n",
    ];

    [Fact]
    public void Mutated_configs_load_or_fail_with_one_located_line_per_problem_and_their_slots_list_without_an_exception()
    {
        var seeds = new Seeds();
        Assert.True(seeds.Count > 50, $"only {seeds.Count} seed configs were found");
        var mutator = new Mutator(Seed);
        string path = Path.Combine(_dir, "fuzz.yaml");
        int loaded = 0;
        for (int i = 0; i < Cases(DefaultConfigCases); i++)
        {
            byte[] input = mutator.Mutate(seeds.Pick(mutator));
            string? problem = Bounded(() => ConfigProblem(path, input, ref loaded));
            if (problem is not null)
            {
                Fail("config", i, mutator.Applied, problem, Shrink(input, bytes => Bounded(() => ConfigProblem(path, bytes, ref loaded))));
            }
        }
        // The oracle saw both sides of the loader: configs that load (and list their slots) and configs that do not.
        Assert.InRange(loaded, 1, Cases(DefaultConfigCases) - 1);
    }

    [Fact]
    public void Mutated_control_requests_always_get_one_json_object_with_ok_and_a_one_line_error()
    {
        var handler = Handler();
        var mutator = new Mutator(Seed);
        for (int i = 0; i < Cases(DefaultControlCases); i++)
        {
            byte[] request = mutator.Mutate(ControlSeeds[mutator.Next(ControlSeeds.Length)]);
            string? problem = Bounded(() => ControlProblem(handler, request));
            if (problem is not null)
            {
                Fail("control request", i, mutator.Applied, problem, request);
            }
        }
    }

    /// <summary>What <c>validate</c> and <c>next</c> do with a file: the contract's breach, or null.</summary>
    private static string? ConfigProblem(string path, byte[] input, ref int loaded)
    {
        File.WriteAllBytes(path, input);
        string text = Encoding.UTF8.GetString(input);
        var result = ConfigLoader.LoadFile(path);
        if (result.Success != (result.Errors.Count == 0) || result.Success != (result.Config is not null))
        {
            return $"the result says Success={result.Success} with {result.Errors.Count} error(s)";
        }
        foreach (var diagnostic in result.Errors.Concat(result.Notes))
        {
            string line = diagnostic.ToString();
            if (!line.StartsWith(path + ":", StringComparison.Ordinal))
            {
                return $"a diagnostic that does not start with its file: {line}";
            }
            if (diagnostic.Location.Line < 0 || diagnostic.Location.Column < 0 || diagnostic.Message.Length == 0)
            {
                return $"a diagnostic without a place or a message: {line}";
            }
            if (Oracle.LineProblem(line, text) is { } problem)
            {
                return $"{problem}: {Oracle.Visible(line)}";
            }
        }
        if (result.Config is { } config)
        {
            loaded++;
            foreach (var schedule in config.Schedules)
            {
                _ = schedule.Trigger.Describe();
                var slots = UpcomingSlots.Of(schedule, From, 20);
                if (slots.Count > 0 && slots[0] <= From)
                {
                    return $"{schedule.Name}'s first slot {slots[0]:O} is not after {From:O}";
                }
                // Up to the calendar's end: the slots run out (the last one in year 9999), never into an exception.
                var last = UpcomingSlots.Of(schedule, NearTheEnd, 200);
                if (last.Zip(last.Skip(1)).Any(p => p.Second <= p.First))
                {
                    return $"{schedule.Name}'s slots near year 9999 are not in order";
                }
            }
        }
        return null;
    }

    private static string? ControlProblem(ControlHandler handler, byte[] request)
    {
        byte[] reply = handler.Handle(request);
        string input = Encoding.UTF8.GetString(request);
        using var doc = JsonDocument.Parse(reply);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("ok", out var ok) || ok.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return $"a reply without a boolean ok: {Encoding.UTF8.GetString(reply)}";
        }
        if (ok.ValueKind == JsonValueKind.False && (!root.TryGetProperty("error", out var e) || e.ValueKind != JsonValueKind.String))
        {
            return $"a refusal without an error: {Encoding.UTF8.GetString(reply)}";
        }
        foreach (string key in (string[])["error", "message"])
        {
            if (root.TryGetProperty(key, out var text) && Oracle.LineProblem(text.GetString()!, input) is { } problem)
            {
                return $"{problem} in the reply's {key}: {Oracle.Visible(text.GetString()!)}";
            }
        }
        return null;
    }

    private static ControlHandler Handler()
    {
        var clock = new FakeTimeProvider(From);
        var engine = new SchedulerEngine(
            TestSchedules.Config(TestSchedules.Interval("a", 1), TestSchedules.Cron("b", "0 * * * *")), new RecordingPort(clock), clock, new EngineOptions());
        int reloads = 0;
        return new ControlHandler(engine,
            () => ++reloads % 2 == 0
                ? new ReloadOutcome(true, "reloaded: 0 added, 0 changed, 0 removed", [])
                : new ReloadOutcome(false, "the config is invalid; the old schedules keep running", ["t.yaml:3:7: name: must not be blank"]),
            "fuzz");
    }

    /// <summary>Runs one case with a time bound: a hang is a failure too.</summary>
    private static string? Bounded(Func<string?> check)
    {
        var watch = Stopwatch.StartNew();
        var task = Task.Run(() =>
        {
            try
            {
                return check();
            }
#pragma warning disable CA1031 // Whatever escapes is the failure the fuzz looks for: it is reported, with its input.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                return $"an exception escaped: {ex}";
            }
        });
        return task.Wait(CaseTimeout) ? task.Result : $"no answer within {CaseTimeout.TotalSeconds} s (a hang?)";
    }

    /// <summary>The input with as many lines left out as keep it failing: what a regression file needs.</summary>
    private static byte[] Shrink(byte[] input, Func<byte[], string?> fails)
    {
        var lines = Encoding.UTF8.GetString(input).Split('\n').ToList();
        for (int i = lines.Count - 1; i >= 0 && lines.Count > 1; i--)
        {
            var without = lines.Where((_, j) => j != i).ToList();
            if (fails(Encoding.UTF8.GetBytes(string.Join('\n', without))) is not null)
            {
                lines = without;
            }
        }
        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }

    private static void Fail(string what, int index, IEnumerable<string> mutations, string problem, byte[] input) =>
        Assert.Fail($"{what} case {index} (seed {Seed}; {string.Join(", ", mutations)}): {problem}\ninput (shrunk, C#-escaped):\n\"{Oracle.Visible(Encoding.UTF8.GetString(input))}\"");
}
