using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LoomSched.EndToEnd.Tests.Reliability.Support;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests.Reliability;

/// <summary>
/// The published binary's <c>validate</c> on every broken config of the corpus (tests/configs/invalid, one per
/// rule, and tests/configs/hostile, the malicious and malformed kinds) and on generated ones too big to keep in
/// the repository: exit 2, the documented error at its file:line:column, no stack trace, within seconds, and
/// within a 256 MiB heap.
/// </summary>
public sealed partial class HostileInputFacts
{
    private static readonly TimeSpan FewSeconds = TimeSpan.FromSeconds(5);

    private static List<string> Corpus() =>
    [
        .. new[] { "invalid", "hostile" }.SelectMany(folder =>
            Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "configs", folder), "*.yaml")
                .Order(StringComparer.Ordinal).Select(file => $"{folder}/{Path.GetFileName(file)}")),
    ];

    public static TheoryData<string> CorpusFiles() => [.. Corpus()];

    [Fact]
    public void Corpus_holds_at_least_forty_broken_configs_each_documenting_its_error()
    {
        var files = Corpus();
        Assert.True(files.Count >= 40, $"{files.Count} files");
        Assert.True(files.Count(f => f.StartsWith("hostile/", StringComparison.Ordinal)) >= 20);
        Assert.All(files, f => Assert.Contains(File.ReadLines(Path.Combine(AppContext.BaseDirectory, "configs", f), Encoding.Latin1),
            l => ExpectLine().IsMatch(l)));
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public async Task Validate_refuses_a_broken_config_with_exit_2_and_its_located_error_without_a_stack_trace(string relative)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "configs", relative);
        var (code, output, error, took) = await BoundedRun.ExecAsync(TimeSpan.FromSeconds(60), "validate", path);

        AssertRefused(path, code, output, error, took, FewSeconds);
        foreach (var expected in File.ReadLines(path, Encoding.UTF8).Select(l => ExpectLine().Match(l)).Where(m => m.Success))
        {
            string keyPath = expected.Groups["path"].Value;
            string located = $"{path}:{expected.Groups["at"].Value}: error: {(keyPath == "-" ? "" : keyPath + ": ")}{expected.Groups["message"].Value.Trim()}";
            Assert.True(output.Split('\n').Any(l => l.StartsWith(located, StringComparison.Ordinal)),
                $"expected a line starting\n  {Short(located)}\ngot:\n{Short(output)}");
        }
    }

    public static TheoryData<string, string> GeneratedKinds() => new()
    {
        { "over-the-size-limit", "over the limit of 8,388,608 bytes (8 MiB)" },
        { "ten-megabyte-single-line", "over the limit of 8,388,608 bytes (8 MiB)" },
        { "large-but-allowed-with-one-error-at-the-end", "schedules[4000].interval_seconds: must be a number greater than 0 (seconds), got -1" },
        { "two-million-open-brackets", "nesting is deeper than 64 levels" },
        { "utf16-with-byte-order-mark", "the file is UTF-16" },
        { "billion-laughs-in-a-payload", "expands to more than 1,000,000 nodes" },
    };

    [Theory]
    [MemberData(nameof(GeneratedKinds))]
    public async Task Validate_refuses_a_generated_hostile_config_quickly_and_within_bounded_memory(string kind, string message)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("loomsched-hostile-").FullName, kind + ".yaml");
        try
        {
            await File.WriteAllBytesAsync(path, Generate(kind));
            var (code, output, error, took) = await BoundedRun.ExecAsync(TimeSpan.FromSeconds(60), "validate", path);
            AssertRefused(path, code, output, error, took, TimeSpan.FromSeconds(10));
            Assert.Contains(message, output);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public async Task Validate_refuses_an_endless_device_as_too_large()
    {
        var (code, output, error, took) = await BoundedRun.ExecAsync(TimeSpan.FromSeconds(60), "validate", "/dev/zero");
        AssertRefused("/dev/zero", code, output, error, took, FewSeconds);
        Assert.Contains("/dev/zero: error: the file is 8,388,609 bytes, over the limit", output);
    }

    private static byte[] Generate(string kind)
    {
        const string head = "name: demo\nschedules:\n";
        switch (kind)
        {
            case "over-the-size-limit":
                var sb = new StringBuilder(head);
                for (int i = 0; sb.Length <= 9_000_000; i++)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"  - name: s{i}\n    interval_seconds: 60\n    task: {{worker_type: w}}\n");
                }
                return Encoding.UTF8.GetBytes(sb.ToString());
            case "ten-megabyte-single-line":
                return Encoding.UTF8.GetBytes("name: " + new string('a', 10 * 1024 * 1024) + "\n");
            case "large-but-allowed-with-one-error-at-the-end":
                var big = new StringBuilder(head);
                string blob = new('x', 1800);
                for (int i = 0; i < 4000; i++)
                {
                    big.Append(CultureInfo.InvariantCulture, $"  - name: s{i}\n    interval_seconds: 60\n    task: {{worker_type: w, payload: {{blob: {blob}}}}}\n");
                }
                big.Append("  - name: last\n    interval_seconds: -1\n    task: {worker_type: w}\n");
                Assert.InRange(big.Length, 7_000_000, 8_388_608);
                return Encoding.UTF8.GetBytes(big.ToString());
            case "two-million-open-brackets":
                return Encoding.UTF8.GetBytes("name: demo\nschedules: " + new string('[', 2_000_000));
            case "utf16-with-byte-order-mark":
                return [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(head + "  - name: a\n    cron: \"0 * * * *\"\n    task: {worker_type: w}\n")];
            case "billion-laughs-in-a-payload":
                var laughs = new StringBuilder(head + "  - name: a\n    cron: \"0 * * * *\"\n    task:\n      worker_type: w\n      payload:\n");
                laughs.Append("        l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
                for (int level = 1; level < 10; level++)
                {
                    laughs.Append(CultureInfo.InvariantCulture, $"        l{level}: &l{level} [{string.Join(", ", Enumerable.Repeat($"*l{level - 1}", 10))}]\n");
                }
                return Encoding.UTF8.GetBytes(laughs.ToString());
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    private static void AssertRefused(string path, int code, string output, string error, TimeSpan took, TimeSpan bound)
    {
        string all = output + error;
        Assert.True(code == 2, $"exit {code} for {path}:\n{Short(all)}");
        Assert.Contains($"{path}: invalid, ", output);
        Assert.StartsWith(path + ":", output);
        Assert.DoesNotMatch(StackFrame(), all);
        Assert.DoesNotContain("Unhandled exception", all, StringComparison.OrdinalIgnoreCase);
        Assert.True(took < bound, $"validate {path} took {took.TotalSeconds:0.00} s");
    }

    private static string Short(string text) => text.Length > 2000 ? text[..2000] + "…" : text;

    [GeneratedRegex(@"^#\s*expect:\s*(?<at>\d+(?::\d+)?)\s+(?<path>\S+)\s+(?<message>.+)$")]
    private static partial Regex ExpectLine();

    [GeneratedRegex(@"(?m)^\s+at ")]
    private static partial Regex StackFrame();
}
