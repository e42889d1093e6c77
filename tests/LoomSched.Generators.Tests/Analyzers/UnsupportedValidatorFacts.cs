using LoomSched.Generators.Analyzers;
using LoomSched.Generators.Tests.Support;

namespace LoomSched.Generators.Tests.Analyzers;

/// <summary>LSCH005: a ValidateArgs_&lt;Method&gt; next to a function must have the validator's shape.</summary>
public class UnsupportedValidatorFacts
{
    private const string Function = "[ExpansionFunction(\"f\")] public static List<Dictionary<string, object?>> F() => [];\n";

    [Theory]
    [InlineData("public IEnumerable<ExpansionArgError> ValidateArgs_F(IReadOnlyDictionary<string, object?> args) => [];", "it is not static")]
    [InlineData("private static IEnumerable<ExpansionArgError> ValidateArgs_F(IReadOnlyDictionary<string, object?> args) => [];", "it is private")]
    [InlineData("public static IEnumerable<ExpansionArgError> ValidateArgs_F(Dictionary<string, object?> args) => [];", "it must take exactly one IReadOnlyDictionary<string, object?> parameter")]
    [InlineData("public static IEnumerable<ExpansionArgError> ValidateArgs_F() => [];", "it must take exactly one IReadOnlyDictionary<string, object?> parameter")]
    [InlineData("public static IEnumerable<string> ValidateArgs_F(IReadOnlyDictionary<string, object?> args) => [];", "it returns IEnumerable<string>, not IEnumerable<ExpansionArgError>")]
    public void A_validator_with_the_wrong_shape_is_reported_on_the_validator(string validator, string problem)
    {
        var diagnostic = Assert.Single(Analyze(Function + validator));

        Assert.Equal("LSCH005", diagnostic.Id);
        Assert.Equal("ValidateArgs_F", UnsupportedSignatureFacts.Spanned(diagnostic));
        Assert.StartsWith($"'ValidateArgs_F' cannot validate the expand_args of 'F': {problem}", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("public static IEnumerable<ExpansionArgError> ValidateArgs_F(IReadOnlyDictionary<string, object?> args) => [];")]
    [InlineData("internal static ExpansionArgError[] ValidateArgs_F(IReadOnlyDictionary<string, object?> args) => [];")]
    [InlineData("internal static List<ExpansionArgError> ValidateArgs_F(IReadOnlyDictionary<string, object?> args) => [];")]
    [InlineData("")]
    public void A_well_shaped_or_absent_validator_is_not_reported(string validator) =>
        Assert.Empty(Analyze(Function + validator));

    [Fact]
    public void A_validator_named_after_no_function_of_its_type_is_reported_naming_the_functions_there()
    {
        var diagnostic = Assert.Single(Analyze(Function + "internal static List<ExpansionArgError> ValidateArgs_Ff(IReadOnlyDictionary<string, object?> args) => [];"));

        Assert.Equal("LSCH005", diagnostic.Id);
        Assert.Equal("ValidateArgs_Ff", UnsupportedSignatureFacts.Spanned(diagnostic));
        Assert.StartsWith("'ValidateArgs_Ff' cannot validate the expand_args of 'Ff': this type has no [ExpansionFunction] method named 'Ff' (its functions: F), so it would validate nothing",
            diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_validator_like_name_in_a_type_without_functions_is_left_alone() =>
        Assert.Empty(Analyze("internal static List<ExpansionArgError> ValidateArgs_Other(IReadOnlyDictionary<string, object?> args) => [];"));

    private static IReadOnlyList<Microsoft.CodeAnalysis.Diagnostic> Analyze(string members) =>
        GeneratorHarness.AnalyzeAsync(GeneratorHarness.Compile(GeneratorOutputFacts.InClass(members)), new UnsupportedValidatorAnalyzer())
            .GetAwaiter().GetResult();
}
