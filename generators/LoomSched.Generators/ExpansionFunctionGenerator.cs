using System.Linq;
using LoomSched.Generators.Model;
using LoomSched.Generators.Rules;
using Microsoft.CodeAnalysis;

namespace LoomSched.Generators;

/// <summary>
/// Collects the <c>[ExpansionFunction]</c> methods of a compilation into a reflection-free registry, and announces
/// them to referencing assemblies. Invalid methods are skipped silently: the LSCH analyzers report them.
/// </summary>
/// <remarks>
/// Generates, in every compilation that references LoomSched.Core:
/// <list type="bullet">
/// <item><c>LoomSched.Generated.ExpansionFunctionRegistry.Create()</c> (internal): a registry with this assembly's
/// functions and those of every referenced assembly that announces some;</item>
/// <item>when the assembly has functions, a public provider class <c>LoomSched.Generated.ExpansionFunctions_&lt;Assembly&gt;</c>
/// and <c>[assembly: ExpansionFunctionLibrary(...)]</c> naming it, which is how referencing assemblies find them.</item>
/// </list>
/// A project opts in by referencing this project as an analyzer
/// (<c>&lt;ProjectReference Include="…/LoomSched.Generators.csproj" OutputItemType="Analyzer" ReferenceOutputAssembly="false" /&gt;</c>);
/// a library must do so too, or its functions are not announced. A static method <c>ValidateArgs_&lt;Method&gt;</c>
/// (<c>IReadOnlyDictionary&lt;string, object?&gt;</c> → <c>IEnumerable&lt;ExpansionArgError&gt;</c>) in the function's type is
/// registered as the function's <c>expand_args</c> validator (LSCH005 checks its shape).
/// </remarks>
[Generator(LanguageNames.CSharp)]
public sealed partial class ExpansionFunctionGenerator : IIncrementalGenerator
{
    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var functions = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownTypes.ExpansionFunctionAttribute,
                static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.MethodDeclarationSyntax,
                Parser.ParseFunction)
            .WithTrackingName(TrackingNames.FunctionSpecs)
            .Where(static spec => spec is not null)
            .Select(static (spec, _) => spec!.Value)
            .WithTrackingName(TrackingNames.ValidFunctions)
            .Collect()
            .Select(static (specs, _) => specs.ToEquatableArray())
            .WithTrackingName(TrackingNames.AllFunctions);

        // The compilation changes on every edit; this step reduces it to a small equatable value at once, so that
        // only a change of assembly name or of a referenced library's functions reaches the emitter.
        var compilation = context.CompilationProvider
            .Select(Parser.ParseCompilation)
            .WithTrackingName(TrackingNames.CompilationInfo);

        var registry = functions
            .Combine(compilation)
            .Select(static (pair, _) => new RegistrySpec(
                pair.Right,
                pair.Left
                    .GroupBy(f => (f.Name, f.Origin)).Select(g => g.First()) // a partial method can be seen twice
                    .OrderBy(f => f.Name, System.StringComparer.Ordinal)
                    .ThenBy(f => f.Origin, System.StringComparer.Ordinal)
                    .ToEquatableArray()))
            .WithTrackingName(TrackingNames.Registry);

        context.RegisterSourceOutput(registry, static (output, spec) => Emitter.Emit(output, spec));
    }
}
