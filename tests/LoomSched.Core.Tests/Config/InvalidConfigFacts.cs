using System.Text.RegularExpressions;
using LoomSched.Config;

namespace LoomSched.Core.Tests.Config;

/// <summary>
/// Every file in tests/configs/invalid documents one rule: its comment lines say what is rejected and, in
/// <c># expect: LINE[:COLUMN] PATH MESSAGE</c> lines (PATH <c>-</c> for the document), the error the loader gives.
/// </summary>
public sealed partial class InvalidConfigFacts
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "configs", "invalid");

    public static TheoryData<string> InvalidFiles()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.EnumerateFiles(Folder, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidFiles))]
    public void Invalid_config_file_is_rejected_with_the_error_it_documents(string fileName)
    {
        string path = Path.Combine(Folder, fileName);
        var expectations = File.ReadLines(path)
            .Select(line => ExpectPattern().Match(line))
            .Where(m => m.Success)
            .ToList();
        Assert.NotEmpty(expectations);

        var result = ConfigLoader.LoadFile(path);

        Assert.False(result.Success);
        Assert.Null(result.Config);
        foreach (var expected in expectations)
        {
            int line = int.Parse(expected.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture);
            int? column = expected.Groups["column"].Success
                ? int.Parse(expected.Groups["column"].Value, System.Globalization.CultureInfo.InvariantCulture)
                : null;
            string keyPath = expected.Groups["path"].Value == "-" ? "" : expected.Groups["path"].Value;
            string message = expected.Groups["message"].Value.Trim();
            Assert.True(
                result.Errors.Any(e => e.Location.Line == line && (column is null || e.Location.Column == column)
                    && e.Path == keyPath && e.Message.Contains(message, StringComparison.Ordinal)
                    && e.Location.File == path),
                $"expected {line}:{column} {keyPath} \"{message}\"; got:\n{string.Join("\n", result.Errors)}");
        }
    }

    [Fact]
    public void Every_invalid_file_says_what_it_rejects()
    {
        foreach (string file in Directory.EnumerateFiles(Folder, "*.yaml"))
        {
            Assert.StartsWith("# Rejected: ", File.ReadLines(file).First(), StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"^#\s*expect:\s*(?<line>\d+)(?::(?<column>\d+))?\s+(?<path>\S+)\s+(?<message>.+)$")]
    private static partial Regex ExpectPattern();
}
