using System.Globalization;
using System.Text;
using LoomSched.EndToEnd.Tests.Support;
using LoomSched.Tests.Fuzz;

namespace LoomSched.EndToEnd.Tests.Reliability;

/// <summary>
/// The mutation fuzz of issue #20 through the published binary: each case is a mutated config (<see cref="Seeds"/>),
/// given to <c>validate</c> and to <c>next</c>, each process within a time bound. <c>validate</c> exits 0 or 2 and
/// prints one located line per problem; <c>next</c> exits as <c>validate</c> does, never aborts (134) nor prints the
/// runtime's text. By default 150 cases (seed 20), some seconds; LOOMSCHED_FUZZ_BINARY_CASES sets the number and
/// LOOMSCHED_FUZZ_SEED another seed. The in-process fuzz (LoomSched.Core.Tests) runs far more cases.
/// </summary>
public sealed class MutationFuzzFacts : IDisposable
{
    private const int DefaultCases = 150;
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(10);

    private readonly string _dir = Directory.CreateTempSubdirectory("loomsched-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("LOOMSCHED_FUZZ_SEED"), CultureInfo.InvariantCulture, out int s) ? s : 20;

    private static int Cases =>
        int.TryParse(Environment.GetEnvironmentVariable("LOOMSCHED_FUZZ_BINARY_CASES"), CultureInfo.InvariantCulture, out int n) && n > 0 ? n : DefaultCases;

    [Fact]
    public async Task Mutated_configs_get_exit_0_or_2_and_one_located_line_per_problem_from_validate_and_next_never_aborts()
    {
        var seeds = new Seeds();
        Assert.True(seeds.Count > 50, $"only {seeds.Count} seed configs were found");
        var mutator = new Mutator(Seed);
        var exits = new Dictionary<int, int>();
        for (int i = 0; i < Cases; i++)
        {
            byte[] input = mutator.Mutate(seeds.Pick(mutator));
            string path = Path.Combine(_dir, $"case{i}.yaml");
            await File.WriteAllBytesAsync(path, input);
            string text = Encoding.UTF8.GetString(input);
            string where = $"case {i} (seed {Seed}; {string.Join(", ", mutator.Applied)}; input \"{Oracle.Visible(text)}\")";

            var validate = await ExecAsync("validate", path);
            exits[validate.Code] = exits.GetValueOrDefault(validate.Code) + 1;
            Assert.True(validate.Code is 0 or 2, $"{where}: validate exited {validate.Code}\n{validate.Out}{validate.Err}");
            Assert.True(validate.Err.Length == 0, $"{where}: validate wrote to stderr: {validate.Err}");
            foreach (string line in Lines(validate.Out))
            {
                Assert.True(line.StartsWith(path + ":", StringComparison.Ordinal), $"{where}: a line without its file: {line}");
                Assert.True(Oracle.LineProblem(line, text) is null, $"{where}: {Oracle.LineProblem(line, text)}: {line}");
            }

            // Every other case lists to the calendar's end (the last slots of year 9000 on): they run out, never abort.
            var next = i % 2 == 0 ? await ExecAsync("next", path) : await ExecAsync("next", path, "--from", "9000-01-01T00:00:00Z", "--count", "10000");
            Assert.True(next.Code == validate.Code, $"{where}: next exited {next.Code} where validate exited {validate.Code}\n{next.Out}{next.Err}");
            foreach (string line in Lines(next.Out).Concat(Lines(next.Err)))
            {
                Assert.True(Oracle.LineProblem(line, text) is null, $"{where}: next printed {Oracle.LineProblem(line, text)}: {line}");
            }
            File.Delete(path);
        }
        Assert.True(exits.GetValueOrDefault(0) > 0 && exits.GetValueOrDefault(2) > 0, $"exit codes seen: {string.Join(", ", exits)}");
    }

    private static IEnumerable<string> Lines(string output) => output.Split('\n').Where(l => l.Length > 0);

    /// <summary>Runs the binary to its end, or kills it when it outlives <see cref="ProcessTimeout"/> (a hang fails).</summary>
    private static Task<(int Code, string Out, string Err)> ExecAsync(params string[] args)
    {
        var info = ChildProcess.Info(Repo.Binary, args);
        info.StandardOutputEncoding = Encoding.UTF8;
        info.StandardErrorEncoding = Encoding.UTF8;
        return ChildProcess.RunAsync(info, ProcessTimeout);
    }
}
