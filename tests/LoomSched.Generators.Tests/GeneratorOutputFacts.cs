using LoomSched.Generators.Tests.Support;
using Emitter = LoomSched.Generators.ExpansionFunctionGenerator.Emitter;

namespace LoomSched.Generators.Tests;

/// <summary>What the generator writes for each supported shape, compared with golden files, and that it compiles.</summary>
public class GeneratorOutputFacts
{
    internal const string Usings = """
        using System.Collections.Generic;
        using System.Runtime.CompilerServices;
        using System.Text.Json.Nodes;
        using System.Threading;
        using System.Threading.Tasks;
        using LoomSched.Expansion;

        """;

    internal static string InClass(string members) => Usings + $$"""
        namespace MyApp;

        public static class Functions
        {
        {{members}}
        }
        """;

    [Theory]
    // A synchronous List<Dictionary<string, object?>> with no parameters.
    [InlineData("SyncList", """
        [ExpansionFunction("sessions.active")]
        public static List<Dictionary<string, object?>> Active() => new() { new() { ["id"] = 1 } };
        """)]
    // An IEnumerable of read-only string maps, taking the context.
    [InlineData("EnumerableWithContext", """
        [ExpansionFunction("items")]
        public static IEnumerable<IReadOnlyDictionary<string, string>> Items(ExpansionContext context) => [];
        """)]
    // An array, internal, taking only the token.
    [InlineData("ArrayWithToken", """
        [ExpansionFunction("pairs")]
        internal static Dictionary<string, object?>[] Pairs(CancellationToken cancellationToken) => [];
        """)]
    // Task<> taking context then token.
    [InlineData("TaskWithContextAndToken", """
        [ExpansionFunction("load.task")]
        public static Task<List<Dictionary<string, object?>>> Load(ExpansionContext context, CancellationToken cancellationToken) =>
            Task.FromResult(new List<Dictionary<string, object?>>());
        """)]
    // ValueTask<> taking token then context.
    [InlineData("ValueTaskWithTokenAndContext", """
        [ExpansionFunction("load.valuetask")]
        public static ValueTask<IEnumerable<Dictionary<string, string>>> Load(CancellationToken cancellationToken, ExpansionContext context) =>
            new(new List<Dictionary<string, string>>());
        """)]
    // JsonObject maps: values are JsonNode?.
    [InlineData("JsonObjectMaps", """
        [ExpansionFunction("nodes")]
        public static List<JsonObject> Nodes() => [new JsonObject { ["a"] = 1 }];
        """)]
    // Dictionary<string, string> maps, values boxed.
    [InlineData("DictionaryOfStrings", """
        [ExpansionFunction("strings")]
        public static List<Dictionary<string, string>> Strings(ExpansionContext context) => [];
        """)]
    // IAsyncEnumerable<> of maps, collected by the invoker.
    [InlineData("AsyncEnumerable", """
        [ExpansionFunction("stream")]
        public static async IAsyncEnumerable<Dictionary<string, object?>> Stream([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            yield return new() { ["n"] = 1 };
        }
        """)]
    // A ValidateArgs_<Method> validator is registered with its function.
    [InlineData("WithValidator", """
        [ExpansionFunction("checked")]
        public static List<Dictionary<string, object?>> Checked(ExpansionContext context) => [];

        internal static List<ExpansionArgError> ValidateArgs_Checked(IReadOnlyDictionary<string, object?> args) => [];
        """)]
    // Nested types and a keyword method name are spelled so that they compile.
    [InlineData("NestedTypeAndKeywordName", """
        internal static class Inner
        {
            [ExpansionFunction("nested")]
            public static List<Dictionary<string, object?>> @event() => [];
        }
        """)]
    public void Each_supported_shape_generates_the_golden_provider_and_compiles_cleanly(string shape, string members)
    {
        var (_, result, output) = GeneratorHarness.Run(GeneratorHarness.Compile(InClass(members)));

        Golden.AssertMatches(shape, GeneratorHarness.GeneratedSource(result, Emitter.ProviderHintName));
        Assert.Empty(GeneratorHarness.Problems(output));
    }

    [Fact]
    public void An_obsolete_function_is_registered_without_an_obsolete_warning_in_the_generated_code()
    {
        var (_, _, output) = GeneratorHarness.Run(GeneratorHarness.Compile(InClass("""
            [System.Obsolete("use fresh")]
            [ExpansionFunction("old")]
            public static List<Dictionary<string, object?>> Old() => [];

            [System.Obsolete]
            [ExpansionFunction("older")]
            public static List<Dictionary<string, object?>> Older() => [];
            """)));

        // Under TreatWarningsAsErrors a CS0618 or CS0612 in the registry would fail the user's build.
        Assert.DoesNotContain(output.GetDiagnostics(), d => d.Id is "CS0618" or "CS0612");
        Assert.Empty(GeneratorHarness.Problems(output));
    }

    [Fact]
    public void A_compilation_without_functions_still_gets_an_empty_registry_and_no_provider()
    {
        var (_, result, output) = GeneratorHarness.Run(GeneratorHarness.Compile("namespace MyApp; public static class Nothing { }"));

        Assert.DoesNotContain(result.GeneratedSources, s => s.HintName == Emitter.ProviderHintName);
        Golden.AssertMatches("RegistryWithoutFunctions", GeneratorHarness.GeneratedSource(result, Emitter.RegistryHintName));
        Assert.Empty(GeneratorHarness.Problems(output));
    }

    [Fact]
    public void A_compilation_without_LoomSched_Core_gets_nothing()
    {
        var compilation = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create(
            "Plain",
            [Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("class C { }")],
            GeneratorHarness.References.Where(r => !r.Display!.EndsWith("LoomSched.Core.dll", StringComparison.Ordinal)));

        var (_, result, _) = GeneratorHarness.Run(compilation);

        Assert.Empty(result.GeneratedSources);
    }

    [Fact]
    public void Invalid_functions_are_skipped_and_the_valid_ones_are_still_registered()
    {
        var source = InClass("""
            [ExpansionFunction("good")]
            public static List<Dictionary<string, object?>> Good() => [];

            [ExpansionFunction("bad")]
            public static int NotMaps() => 0;

            [ExpansionFunction("9 malformed")]
            public static List<Dictionary<string, object?>> Malformed() => [];
            """);

        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Compile(source));
        var provider = GeneratorHarness.GeneratedSource(result, Emitter.ProviderHintName);

        Assert.Contains("\"good\"", provider, StringComparison.Ordinal);
        Assert.DoesNotContain("\"bad\"", provider, StringComparison.Ordinal);
        Assert.DoesNotContain("malformed", provider, StringComparison.Ordinal);
    }

    [Fact]
    public void Functions_are_registered_in_name_order_whatever_the_source_order()
    {
        var source = InClass("""
            [ExpansionFunction("zeta")] public static List<Dictionary<string, object?>> Z() => [];
            [ExpansionFunction("alpha")] public static List<Dictionary<string, object?>> A() => [];
            """);

        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Compile(source));
        var provider = GeneratorHarness.GeneratedSource(result, Emitter.ProviderHintName);

        Assert.True(provider.IndexOf("\"alpha\"", StringComparison.Ordinal) < provider.IndexOf("\"zeta\"", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("My.App", "ExpansionFunctions_My_App")]
    [InlineData("loom-sched.plugins", "ExpansionFunctions_loom_sched_plugins")]
    [InlineData("Plain", "ExpansionFunctions_Plain")]
    public void The_provider_class_name_is_derived_from_the_assembly_name(string assemblyName, string expected) =>
        Assert.Equal(expected, ExpansionFunctionGenerator.Parser.ProviderClassName(assemblyName));
}
