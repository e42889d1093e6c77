using LoomSched.Generators.Analyzers;
using LoomSched.Generators.Tests.Support;
using Microsoft.CodeAnalysis;

namespace LoomSched.Generators.Tests.Analyzers;

/// <summary>LSCH002: a name used twice, in this project or across its references, is reported on each use in source.</summary>
public class DuplicateNameFacts
{
    [Fact]
    public async Task Two_functions_with_one_name_are_each_reported_naming_the_other()
    {
        var source = GeneratorOutputFacts.InClass("""
            [ExpansionFunction("twice")] public static List<Dictionary<string, object?>> First() => [];
            [ExpansionFunction("twice")] public static List<Dictionary<string, object?>> Second() => [];
            [ExpansionFunction("once")] public static List<Dictionary<string, object?>> Third() => [];
            """);

        var diagnostics = await GeneratorHarness.AnalyzeAsync(GeneratorHarness.Compile(source), new DuplicateNameAnalyzer());

        Assert.Equal(2, diagnostics.Count);
        Assert.All(diagnostics, d => Assert.Equal("LSCH002", d.Id));
        Assert.All(diagnostics, d => Assert.Equal("\"twice\"", UnsupportedSignatureFacts.Spanned(d)));
        Assert.Equal(
            "The expansion function name 'twice' is also used by MyApp.Functions.Second (File0.cs:12); each name must be unique across the project and the assemblies it references",
            diagnostics[0].GetMessage());
        Assert.Contains("also used by MyApp.Functions.First (File0.cs:11)", diagnostics[1].GetMessage(), StringComparison.Ordinal);
        Assert.Single(diagnostics[0].AdditionalLocations);
    }

    [Fact]
    public async Task Distinct_names_are_not_reported()
    {
        var source = GeneratorOutputFacts.InClass("""
            [ExpansionFunction("a")] public static List<Dictionary<string, object?>> A() => [];
            [ExpansionFunction("b")] public static List<Dictionary<string, object?>> B() => [];
            """);

        Assert.Empty(await GeneratorHarness.AnalyzeAsync(GeneratorHarness.Compile(source), new DuplicateNameAnalyzer()));
    }
}
