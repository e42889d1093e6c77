using System.Reflection;
using System.Runtime.Loader;
using LoomSched.Expansion;
using LoomSched.Generators.Analyzers;
using LoomSched.Generators.Tests.Support;
using Microsoft.CodeAnalysis;
using Emitter = LoomSched.Generators.ExpansionFunctionGenerator.Emitter;

namespace LoomSched.Generators.Tests;

/// <summary>A library's functions reach the registry of an assembly that references it, by direct calls.</summary>
public class CrossAssemblyFacts
{
    private static readonly string LibrarySource = "using System.Linq;\n" + GeneratorOutputFacts.Usings + """
        namespace MyLib;

        public static class LibraryFunctions
        {
            [ExpansionFunction("lib.range")]
            internal static IEnumerable<Dictionary<string, int>> Range(ExpansionContext context) =>
                Enumerable.Range(0, 2).Select(i => new Dictionary<string, int> { ["index"] = i });
        }
        """;

    private static readonly string AppSource = GeneratorOutputFacts.Usings + """
        namespace MyApp;

        public static class AppFunctions
        {
            [ExpansionFunction("app.nodes")]
            public static async Task<List<JsonObject>> Nodes(ExpansionContext context, CancellationToken cancellationToken)
            {
                await Task.Yield();
                return [new JsonObject { ["schedule"] = context.ScheduleName }];
            }
        }
        """;

    private static readonly byte[] LibraryImage = GeneratorHarness.EmitLibraryImage(LibrarySource, "MyLib");
    private static readonly MetadataReference Library = MetadataReference.CreateFromImage(LibraryImage);

    [Fact]
    public void The_app_registry_calls_the_library_provider_and_its_own()
    {
        var (_, result, output) = GeneratorHarness.Run(GeneratorHarness.Compile(AppSource, "MyApp", Library));

        Golden.AssertMatches("RegistryWithLibrary", GeneratorHarness.GeneratedSource(result, Emitter.RegistryHintName));
        Assert.Empty(GeneratorHarness.Problems(output));
    }

    [Fact]
    public async Task The_app_registry_runs_both_functions_without_reflection_in_the_generated_code()
    {
        var (_, _, output) = GeneratorHarness.Run(GeneratorHarness.Compile(AppSource, "MyApp", Library));
        var context = new IsolatedContext();
        context.LoadFromStream(new MemoryStream(LibraryImage));
        var app = context.LoadFromStream(new MemoryStream(GeneratorHarness.EmitImage(output)));

        // Reflection here only finds the internal entry point of the freshly compiled test assembly.
        var create = app.GetType("LoomSched.Generated.ExpansionFunctionRegistry", throwOnError: true)!
            .GetMethod("Create", BindingFlags.Public | BindingFlags.Static)!;
        var registry = (ExpansionRegistry)create.Invoke(null, null)!;

        Assert.Equal(["app.nodes", "lib.range"], registry.Names.ToArray());
        var expansion = new ExpansionContext { ScheduleName = "s1", ScheduledFor = DateTimeOffset.UnixEpoch, Args = new Dictionary<string, object?>() };
        Assert.True(registry.TryGet("lib.range", out var range));
        Assert.Equal(
            ["index=0", "index=1"],
            (await range.Invoke(expansion, CancellationToken.None))!.Select(map => string.Join(",", map.Select(kv => $"{kv.Key}={kv.Value}"))).ToArray());
        Assert.Equal("MyLib.LibraryFunctions.Range", range.Origin);
        Assert.True(registry.TryGet("app.nodes", out var nodes));
        var node = Assert.Single((await nodes.Invoke(expansion, CancellationToken.None))!);
        Assert.Equal("s1", Assert.Single(node).Value!.ToString());
    }

    [Fact]
    public async Task A_name_defined_in_the_app_and_in_the_library_is_reported_naming_the_library()
    {
        var source = AppSource.Replace("\"app.nodes\"", "\"lib.range\"");

        var diagnostic = Assert.Single(await GeneratorHarness.AnalyzeAsync(GeneratorHarness.Compile(source, "MyApp", Library), new DuplicateNameAnalyzer()));

        Assert.Equal("LSCH002", diagnostic.Id);
        Assert.Equal("\"lib.range\"", Analyzers.UnsupportedSignatureFacts.Spanned(diagnostic));
        Assert.StartsWith("The expansion function name 'lib.range' is also used by the referenced assembly MyLib;", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_referenced_libraries_sharing_a_name_are_reported_for_the_project_without_a_location()
    {
        var other = GeneratorHarness.EmitLibrary(LibrarySource.Replace("MyLib", "OtherLib"), "OtherLib");

        var diagnostic = Assert.Single(await GeneratorHarness.AnalyzeAsync(
            GeneratorHarness.Compile("namespace MyApp; public static class Empty { }", "MyApp", Library, other), new DuplicateNameAnalyzer()));

        Assert.Equal(Location.None, diagnostic.Location);
        Assert.StartsWith(
            "The expansion function name 'lib.range' is also used by the referenced assembly MyLib and the referenced assembly OtherLib;",
            diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expand_from_naming_a_function_defined_only_in_the_library_is_accepted()
    {
        var yaml = new InMemoryAdditionalText("app.yaml", "schedules:\n  - expand_from: lib.range\n  - expand_from: app.nodes\n  - expand_from: lib.rnage\n");

        var diagnostic = Assert.Single(await GeneratorHarness.AnalyzeAsync(
            GeneratorHarness.Compile(AppSource, "MyApp", Library), new UnknownExpandFromAnalyzer(), yaml));

        Assert.Contains("'lib.rnage'", diagnostic.GetMessage(), StringComparison.Ordinal);
        Assert.Contains("did you mean 'lib.range'?", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_library_announces_its_functions_with_an_assembly_attribute()
    {
        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Compile(LibrarySource, "MyLib"));

        var provider = GeneratorHarness.GeneratedSource(result, Emitter.ProviderHintName);
        Assert.Contains("[assembly: global::LoomSched.Expansion.ExpansionFunctionLibraryAttribute(\n    typeof(global::LoomSched.Generated.ExpansionFunctions_MyLib),\n    \"lib.range\")]", provider, StringComparison.Ordinal);
    }

    /// <summary>Loads the test assemblies in isolation while sharing LoomSched.Core with the test, so the registry type matches.</summary>
    private sealed class IsolatedContext() : AssemblyLoadContext(isCollectible: true)
    {
        protected override Assembly? Load(AssemblyName assemblyName) => null;
    }
}
