using System.Globalization;
using System.Text.RegularExpressions;
using LoomSched.Config;
using LoomSched.Expansion;

namespace LoomSched.Core.Tests.Config;

/// <summary>
/// The conformance corpus (tests/configs/loom): Loom's own example configs and the cases of its scheduler's tests,
/// one file each, whose header says what Loom does (<c># Loom:</c>) and what loomsched does (<c># loomsched: loads</c>
/// or <c># loomsched: rejects</c>), with every note (<c># note:</c>) and error (<c># expect:</c>) it gives, as
/// <c>LINE:COLUMN PATH MESSAGE</c>. A file that loads with notes is refused under <c>--strict</c>.
/// </summary>
public sealed partial class LoomCorpusFacts
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "configs", "loom");

    public static TheoryData<string> CorpusFiles()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.EnumerateFiles(Folder, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void A_config_loads_or_is_refused_as_its_header_says_with_exactly_the_notes_and_errors_it_lists(string fileName)
    {
        string path = Path.Combine(Folder, fileName);
        var header = File.ReadLines(path).TakeWhile(l => l.StartsWith('#')).ToList();
        Assert.Contains(header, l => l.StartsWith("# Loom: ", StringComparison.Ordinal));
        string verdict = Assert.Single(header, l => l.StartsWith("# loomsched: ", StringComparison.Ordinal))["# loomsched: ".Length..];
        var notes = Expected(header, "note");
        var errors = Expected(header, "expect");

        // No expansion function registered: an expand_from is checked, and names none.
        var result = ConfigLoader.LoadFile(path, new ExpansionRegistry());

        string got = $"errors:\n{string.Join("\n", result.Errors)}\nnotes:\n{string.Join("\n", result.Notes)}";
        if (verdict.StartsWith("loads", StringComparison.Ordinal))
        {
            Assert.True(result.Success, got);
            Assert.Empty(errors);
            Assert.Equal(notes.Count == 0, result.Strict().Success);
        }
        else
        {
            Assert.StartsWith("rejects", verdict, StringComparison.Ordinal);
            Assert.False(result.Success, got);
            Assert.NotEmpty(errors);
        }
        Assert.True(notes.Count == result.Notes.Count, $"{notes.Count} note(s) listed; {got}");
        foreach (var (line, column, keyPath, message) in notes)
        {
            Assert.True(result.Notes.Any(d => Matches(d, line, column, keyPath, message)), $"expected note {line}:{column} {keyPath} \"{message}\"; {got}");
        }
        foreach (var (line, column, keyPath, message) in errors)
        {
            Assert.True(result.Errors.Any(d => Matches(d, line, column, keyPath, message)), $"expected error {line}:{column} {keyPath} \"{message}\"; {got}");
        }
    }

    [Fact]
    public void The_corpus_holds_Looms_examples_and_a_file_for_each_case_of_its_scheduler_tests()
    {
        Assert.True(Directory.EnumerateFiles(Folder, "*.yaml").Count() >= 30);
    }

    private static bool Matches(ConfigDiagnostic d, int line, int column, string keyPath, string message) =>
        d.Location.Line == line && d.Location.Column == column && d.Path == keyPath && d.Message.Contains(message, StringComparison.Ordinal);

    private static List<(int Line, int Column, string Path, string Message)> Expected(List<string> header, string kind) =>
    [
        .. header.Select(l => Line().Match(l)).Where(m => m.Success && m.Groups["kind"].Value == kind).Select(m => (
            int.Parse(m.Groups["line"].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups["column"].Value, CultureInfo.InvariantCulture),
            m.Groups["path"].Value == "-" ? "" : m.Groups["path"].Value,
            m.Groups["message"].Value.Trim())),
    ];

    [GeneratedRegex(@"^#\s*(?<kind>note|expect):\s*(?<line>\d+):(?<column>\d+)\s+(?<path>\S+)\s+(?<message>.+)$")]
    private static partial Regex Line();
}
