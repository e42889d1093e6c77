using LoomSched.Generators.Analyzers;
using LoomSched.Generators.Tests.Support;

namespace LoomSched.Generators.Tests.Analyzers;

/// <summary>LSCH003: names start with a letter, continue with letters, digits, '_', '.', '-', and stay within 100 characters.</summary>
public class MalformedNameFacts
{
    [Theory]
    [InlineData("", "is empty")]
    [InlineData("1st", "is not starting with a letter (it starts with '1')")]
    [InlineData("_private", "is not starting with a letter (it starts with '_')")]
    [InlineData("has space", "is containing a space at position 4")]
    [InlineData("a/b", "is containing '/' at position 2")]
    [InlineData("émoji", "is not starting with a letter (it starts with 'é')")]
    public void A_malformed_name_is_reported_on_the_attribute_argument(string name, string problem)
    {
        var diagnostic = Assert.Single(Analyze(name));

        Assert.Equal("LSCH003", diagnostic.Id);
        Assert.Equal($"\"{name}\"", UnsupportedSignatureFacts.Spanned(diagnostic));
        Assert.StartsWith($"The expansion function name '{name}' {problem}; a name starts with a letter", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_longer_than_100_characters_is_reported()
    {
        var diagnostic = Assert.Single(Analyze(new string('a', 101)));

        Assert.Contains("is too long (101 characters)", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("json_file")]
    [InlineData("sessions.active")]
    [InlineData("Poll-Sessions_2.v1")]
    public void A_well_formed_name_is_not_reported(string name) => Assert.Empty(Analyze(name));

    [Fact]
    public void A_name_of_exactly_100_characters_is_not_reported() => Assert.Empty(Analyze(new string('a', 100)));

    private static IReadOnlyList<Microsoft.CodeAnalysis.Diagnostic> Analyze(string name) =>
        GeneratorHarness.AnalyzeAsync(
            GeneratorHarness.Compile(GeneratorOutputFacts.InClass($"[ExpansionFunction(\"{name}\")]\npublic static List<Dictionary<string, object?>> F() => [];")),
            new MalformedNameAnalyzer()).GetAwaiter().GetResult();
}
