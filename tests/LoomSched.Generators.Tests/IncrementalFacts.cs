using System.Collections;
using System.Reflection;
using LoomSched.Generators.Tests.Support;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace LoomSched.Generators.Tests;

/// <summary>The pipeline caches: same input, same work skipped; no symbol or compilation is held between runs.</summary>
public class IncrementalFacts
{
    private static readonly string[] AllTrackingNames = typeof(TrackingNames)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToArray();

    private static readonly string Functions = GeneratorOutputFacts.InClass("""
        [ExpansionFunction("sessions.active")]
        public static List<Dictionary<string, object?>> Active(ExpansionContext context) => [];

        [ExpansionFunction("nodes")]
        public static Task<List<JsonObject>> Nodes(CancellationToken cancellationToken) => Task.FromResult(new List<JsonObject>());
        """);

    [Fact]
    public void Every_tracking_name_is_used_by_the_pipeline()
    {
        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Compile(Functions));

        Assert.All(AllTrackingNames, name => Assert.Contains(name, result.TrackedSteps.Keys));
    }

    [Fact]
    public void Rerunning_on_the_same_compilation_leaves_every_tracked_step_cached()
    {
        var compilation = GeneratorHarness.Compile(Functions);
        var (driver, _, _) = GeneratorHarness.Run(compilation);

        var (_, second, _) = GeneratorHarness.Run(compilation, driver);

        AssertAllOutputs(second, AllTrackingNames, IncrementalStepRunReason.Cached);
        Assert.All(second.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
    }

    [Fact]
    public void Adding_an_unrelated_class_leaves_the_registry_and_the_output_cached_or_unchanged()
    {
        var compilation = GeneratorHarness.Compile(Functions);
        var (driver, _, _) = GeneratorHarness.Run(compilation);
        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText(
            "namespace MyApp; internal sealed class Unrelated { public int X { get; set; } }", GeneratorHarness.ParseOptions, path: "Unrelated.cs"));

        var (_, second, _) = GeneratorHarness.Run(edited, driver);

        // The transform re-runs (the compilation changed) but yields equal specs: Unchanged, and nothing after it runs.
        AssertAllOutputs(second, AllTrackingNames, IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        Assert.All(second.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            output => Assert.Contains(output.Reason, new[] { IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged }));
    }

    [Fact]
    public void Adding_a_comment_above_a_function_reparses_it_to_an_equal_spec_and_leaves_the_output_cached()
    {
        var compilation = GeneratorHarness.Compile(Functions);
        var (driver, _, _) = GeneratorHarness.Run(compilation);
        var tree = compilation.SyntaxTrees.Single();
        var edited = compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(
            tree.GetText().WithChanges(new Microsoft.CodeAnalysis.Text.TextChange(new(0, 0), "// A comment that moves every line down.\n"))));

        var (_, second, _) = GeneratorHarness.Run(edited, driver);

        AssertAllOutputs(second, [TrackingNames.FunctionSpecs], IncrementalStepRunReason.Unchanged);
        AssertAllOutputs(second, [TrackingNames.Registry], IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        Assert.All(second.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            output => Assert.Contains(output.Reason, new[] { IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged }));
    }

    [Fact]
    public void Renaming_a_function_regenerates_the_output()
    {
        var compilation = GeneratorHarness.Compile(Functions);
        var (driver, _, _) = GeneratorHarness.Run(compilation);
        var edited = compilation.ReplaceSyntaxTree(
            compilation.SyntaxTrees.Single(),
            CSharpSyntaxTree.ParseText(Functions.Replace("\"nodes\"", "\"json.nodes\""), GeneratorHarness.ParseOptions, path: "File0.cs"));

        var (_, second, _) = GeneratorHarness.Run(edited, driver);

        AssertAllOutputs(second, [TrackingNames.Registry], IncrementalStepRunReason.Modified);
        Assert.Contains("\"json.nodes\"", GeneratorHarness.GeneratedSource(second, ExpansionFunctionGenerator.Emitter.ProviderHintName), StringComparison.Ordinal);
    }

    [Fact]
    public void No_tracked_step_holds_a_symbol_a_compilation_or_a_syntax_node()
    {
        var library = GeneratorHarness.EmitLibrary(GeneratorOutputFacts.InClass("""
            [ExpansionFunction("from.library")] public static List<Dictionary<string, object?>> L() => [];
            """).Replace("MyApp", "MyLib"), "MyLib");
        var (_, result, _) = GeneratorHarness.Run(GeneratorHarness.Compile(Functions, "TestApp", library));

        var visited = 0;
        // Only this generator's steps: Roslyn's own input steps (e.g. "Compilation") hold compilations by design.
        foreach (var step in AllTrackingNames.SelectMany(name => result.TrackedSteps[name]))
        {
            foreach (var (value, _) in step.Outputs)
            {
                visited += AssertHoldsNoRoslynObjects(value, $"{step.Name}", new HashSet<object>(ReferenceEqualityComparer.Instance));
            }
        }
        Assert.True(visited > 10, $"only {visited} values were walked");
    }

    private static void AssertAllOutputs(GeneratorRunResult result, IEnumerable<string> names, params IncrementalStepRunReason[] allowed)
    {
        foreach (var name in names)
        {
            Assert.True(result.TrackedSteps.TryGetValue(name, out var steps), $"step {name} did not run");
            foreach (var (_, reason) in steps.SelectMany(s => s.Outputs))
            {
                Assert.True(allowed.Contains(reason), $"step {name} was {reason}, expected {string.Join(" or ", allowed)}");
            }
        }
    }

    /// <summary>Walks public and private fields; returns how many objects were visited.</summary>
    private static int AssertHoldsNoRoslynObjects(object? value, string path, HashSet<object> seen)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || !seen.Add(value))
        {
            return 0;
        }
        var type = value.GetType();
        Assert.False(value is ISymbol or Compilation or SyntaxNode or SemanticModel or SyntaxTree or Location,
            $"{path} holds a {type.Name}; pipeline values must be plain data");
        var count = 1;
        if (value is IEnumerable sequence)
        {
            var i = 0;
            foreach (var item in sequence)
            {
                count += AssertHoldsNoRoslynObjects(item, $"{path}[{i++}]", seen);
            }
        }
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (field.FieldType.IsPointer)
                {
                    continue;
                }
                count += AssertHoldsNoRoslynObjects(field.GetValue(value), $"{path}.{field.Name}", seen);
            }
        }
        return count;
    }
}
