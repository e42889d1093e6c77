using System.Diagnostics;
using System.Text;
using LoomSched.Config;

namespace LoomSched.Core.Tests.Config;

/// <summary>
/// Mutation testing of the loader: valid configs broken at random (lines deleted, duplicated, swapped; characters
/// flipped; indentation changed; YAML punctuation inserted; the text truncated) must always give a result, never
/// an exception. Seeded, so a failure names the seed and case that reproduce it.
/// </summary>
public sealed class RandomisedConfigFacts
{
    private const int CasesPerSeed = 2500;

    private static readonly string[] Punctuation =
        [":", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!str ", "!!int ", "? ", "|", ">", "#", "'", "\"", "%", "@", "`", "<<: ", "---", "...", "\t", "\\", "\u00e9", "\U0001F600", "0x", "1e3", ".inf", "~"];

    private static readonly string Inline = """
        name: inline_scheduler
        subject_prefix: heddle
        time_zone: Europe/Paris
        max_pending: 50
        control: {actions: [status, trigger]}
        schedules:
          - name: one
            cron: "*/5 * * * *"
            task: &d {worker_type: w, payload: {a: 1, b: [x, y], c: {d: null}}, model_tier: standard}
          - name: two
            interval_seconds: 1.5
            goal: {instruction: "do it", context: {when: 2026-01-01, n: 0o17, octal: 017, sexa: 1:30}}
            expand_from: range
            expand_args: {count: 3}
            max_expansion: 10
            expand_timeout_seconds: 2
          - name: three
            cron: "@hourly"
            time_zone: America/New_York
            dispatch_type: task
            task: {<<: *d, priority: high}
        """;

    public static TheoryData<int> Seeds() => [1, 2, 3, 4];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_valid_configs_never_make_the_loader_throw(int seed)
    {
        var bases = new[]
        {
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "config", "loom.example.yaml")),
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "config", "scheduler.example.yaml")),
            Inline,
        };
        foreach (var text in bases)
        {
            var loaded = ConfigLoader.LoadText(text, "base.yaml");
            Assert.True(loaded.Success, "a base config must be valid to begin with: " + string.Join("\n", loaded.Errors));
        }

        var random = new Random(seed);
        var watch = Stopwatch.StartNew();
        int rejected = 0;
        for (int i = 0; i < CasesPerSeed; i++)
        {
            string mutated = bases[random.Next(bases.Length)];
            int steps = 1 + random.Next(4);
            for (int s = 0; s < steps; s++)
            {
                mutated = Mutate(mutated, random);
            }
            ConfigLoadResult result;
            try
            {
                result = ConfigLoader.LoadText(mutated, "mutated.yaml");
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}, case {i}: the loader threw {ex.GetType().Name}: {ex.Message}\n--- input ---\n{mutated}");
                throw;
            }
            // A result is either a config or errors, never both or neither; every error is located in the file.
            Assert.True(result.Success == (result.Config is not null) && result.Success == (result.Errors.Count == 0),
                $"seed {seed}, case {i}: inconsistent result");
            Assert.All(result.Errors, e => Assert.True(e.Location.File == "mutated.yaml" && e.Location.Line >= 1 && e.Message.Length > 0,
                $"seed {seed}, case {i}: {e}"));
            rejected += result.Success ? 0 : 1;
        }
        // Most mutations break something; a run where nothing was rejected would mean the mutator does nothing.
        Assert.InRange(rejected, CasesPerSeed / 4, CasesPerSeed);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"{CasesPerSeed} cases took {watch.Elapsed.TotalSeconds:0.0} s");
    }

    private static string Mutate(string text, Random random)
    {
        var lines = text.Split('\n').ToList();
        int at = random.Next(lines.Count);
        switch (random.Next(9))
        {
            case 0: // delete a line
                lines.RemoveAt(at);
                break;
            case 1: // duplicate a line
                lines.Insert(at, lines[at]);
                break;
            case 2: // swap two lines
                int other = random.Next(lines.Count);
                (lines[at], lines[other]) = (lines[other], lines[at]);
                break;
            case 3: // flip a character
                if (lines[at].Length > 0)
                {
                    var chars = lines[at].ToCharArray();
                    chars[random.Next(chars.Length)] = (char)random.Next(32, 127);
                    lines[at] = new string(chars);
                }
                break;
            case 4: // change the indentation
                int delta = random.Next(-4, 5);
                lines[at] = delta >= 0 ? new string(' ', delta) + lines[at] : lines[at].TrimStart().PadLeft(Math.Max(0, lines[at].Length + delta));
                break;
            case 5: // insert YAML punctuation
                string p = Punctuation[random.Next(Punctuation.Length)];
                lines[at] = lines[at].Insert(random.Next(lines[at].Length + 1), p);
                break;
            case 6: // truncate the text
                return text[..random.Next(text.Length + 1)];
            case 7: // a line from elsewhere, re-indented
                lines.Insert(at, new string(' ', 2 * random.Next(5)) + lines[random.Next(lines.Count)].TrimStart());
                break;
            default: // a random control or non-ASCII character
                char c = random.Next(3) switch { 0 => (char)random.Next(0, 32), 1 => (char)random.Next(0x80, 0x800), _ => (char)random.Next(0xD800, 0xE000) };
                lines[at] = lines[at].Insert(random.Next(lines[at].Length + 1), c.ToString());
                break;
        }
        return string.Join('\n', lines);
    }
}
