using LoomSched.Generators.Analyzers;
using LoomSched.Generators.Tests.Support;
using Microsoft.CodeAnalysis;

namespace LoomSched.Generators.Tests.Analyzers;

/// <summary>LSCH001: every unsupported shape is reported on the method, saying what is wrong; supported shapes are silent.</summary>
public class UnsupportedSignatureFacts
{
    private const string Map = "List<Dictionary<string, object?>>";

    [Theory]
    // Modifiers and accessibility
    [InlineData($"public {Map} Bad() => [];", "it is not static")]
    [InlineData($"public static {Map} Bad<T>() => [];", "it is generic (it has type parameter T)")]
    [InlineData($"private static {Map} Bad() => [];", "it is private; make it public or internal")]
    [InlineData($"private protected static {Map} Bad() => [];", "it is private protected; make it public or internal")]
    // Parameters
    [InlineData($"public static {Map} Bad(string path) => [];", "parameter 'path' is of type string; only an ExpansionContext and a CancellationToken can be passed")]
    [InlineData($"public static {Map} Bad(ExpansionContext a, ExpansionContext b) => [];", "it takes more than one ExpansionContext")]
    [InlineData($"public static {Map} Bad(CancellationToken a, CancellationToken b) => [];", "it takes more than one CancellationToken")]
    [InlineData($"public static {Map} Bad(ref CancellationToken token) => [];", "parameter 'token' must be passed by value")]
    [InlineData($"public static {Map} Bad(ExpansionContext context, int retries) => [];", "parameter 'retries' is of type int")]
    // Return types
    [InlineData("public static void Bad() { }", "it returns void; return the maps")]
    [InlineData("public static Task Bad() => Task.CompletedTask;", "it returns Task without a result")]
    [InlineData("public static ValueTask Bad() => default;", "it returns ValueTask without a result")]
    [InlineData("public static Dictionary<string, object?> Bad() => new();", "is a single map; return a sequence of maps")]
    [InlineData("public static List<int> Bad() => [];", "the elements of List<int> (int) are not maps")]
    [InlineData("public static string Bad() => \"\";", "its return type string is not a sequence of maps")]
    [InlineData("public static int Bad() => 0;", "its return type int is not a sequence of maps")]
    [InlineData("public static List<Dictionary<int, string>> Bad() => [];", "have keys of type int; keys must be strings")]
    [InlineData("public static Task<IAsyncEnumerable<Dictionary<string, object?>>> Bad() => null!;", "return the IAsyncEnumerable<> itself, not a task of one")]
    public void An_unsupported_method_is_reported_on_its_name_with_the_reason(string method, string reason)
    {
        var diagnostic = Assert.Single(Analyze(GeneratorOutputFacts.InClass($"[ExpansionFunction(\"bad\")]\n{method}")));

        Assert.Equal("LSCH001", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal("Bad", Spanned(diagnostic));
        var message = diagnostic.GetMessage();
        Assert.StartsWith("'Bad' cannot be an expansion function: ", message, StringComparison.Ordinal);
        Assert.Contains(reason, message, StringComparison.Ordinal);
        Assert.Contains("Supported: a static, non-generic method", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("public static class Outer<T> { public static class Inner { [ExpansionFunction(\"x\")] public static List<Dictionary<string, object?>> Bad() => []; } }",
        "its containing type Outer<T> is generic")]
    [InlineData("public static class Outer { private static class Hidden { [ExpansionFunction(\"x\")] public static List<Dictionary<string, object?>> Bad() => []; } }",
        "its containing type Outer.Hidden is private; make it public or internal")]
    [InlineData("public class Outer { protected static class Hidden { [ExpansionFunction(\"x\")] public static List<Dictionary<string, object?>> Bad() => []; } }",
        "its containing type Outer.Hidden is protected")]
    [InlineData("file static class Local { [ExpansionFunction(\"x\")] public static List<Dictionary<string, object?>> Bad() => []; }",
        "is file-local")]
    public void A_method_in_an_unreachable_or_generic_type_is_reported(string types, string reason)
    {
        var diagnostic = Assert.Single(Analyze(GeneratorOutputFacts.Usings + "namespace MyApp;\n" + types));

        Assert.Equal("LSCH001", diagnostic.Id);
        Assert.Contains(reason, diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void Several_problems_are_reported_together_in_one_message()
    {
        var diagnostic = Assert.Single(Analyze(GeneratorOutputFacts.InClass("[ExpansionFunction(\"bad\")]\nprivate int Bad(string s) => 0;")));

        var message = diagnostic.GetMessage();
        Assert.Contains("it is not static; it is private", message, StringComparison.Ordinal);
        Assert.Contains("parameter 's' is of type string", message, StringComparison.Ordinal);
        Assert.Contains("its return type int is not a sequence of maps", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_local_function_is_reported()
    {
        var source = GeneratorOutputFacts.InClass("""
            public static void Host()
            {
                [ExpansionFunction("local")]
                static List<Dictionary<string, object?>> Bad() => [];
                Bad();
            }
            """);

        var diagnostic = Assert.Single(Analyze(source));

        Assert.Contains("it is a local function; declare it as a method of a class", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData($"public static {Map} Good() => [];")]
    [InlineData($"internal static {Map} Good(ExpansionContext context) => [];")]
    [InlineData($"protected internal static {Map} Good(CancellationToken token, ExpansionContext context) => [];")]
    [InlineData("public static IEnumerable<IReadOnlyDictionary<string, string>> Good() => [];")]
    [InlineData("public static Dictionary<string, string>[] Good() => [];")]
    [InlineData("public static KeyValuePair<string, int>[][] Good() => [];")]
    [InlineData("public static Task<List<JsonObject>> Good(CancellationToken token) => null!;")]
    [InlineData("public static ValueTask<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>> Good() => default;")]
    [InlineData("public static async IAsyncEnumerable<JsonObject> Good() { await Task.Yield(); yield break; }")]
    public void A_supported_method_is_not_reported(string method) =>
        Assert.Empty(Analyze(GeneratorOutputFacts.InClass($"[ExpansionFunction(\"good\")]\n{method}")));

    [Fact]
    public void A_method_without_the_attribute_is_not_reported() =>
        Assert.Empty(Analyze(GeneratorOutputFacts.InClass("public int NotAFunction(string s) => 0;")));

    private static IReadOnlyList<Diagnostic> Analyze(string source) =>
        GeneratorHarness.AnalyzeAsync(GeneratorHarness.Compile(source), new UnsupportedSignatureAnalyzer()).GetAwaiter().GetResult();

    internal static string Spanned(Diagnostic diagnostic) =>
        diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan);
}
