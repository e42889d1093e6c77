using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using LoomSched.Generators.Diagnostics;
using LoomSched.Generators.Model;
using LoomSched.Generators.Rules;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoomSched.Generators.Analyzers;

/// <summary>LSCH002: two expansion functions, in this project or in the assemblies it references, share a name.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DuplicateNameAnalyzer : ExpansionAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.DuplicateName);

    /// <inheritdoc />
    private protected override void Start(CompilationStartAnalysisContext start, KnownTypes types)
    {
        var declared = new ConcurrentBag<SourceFunction>();
        start.RegisterSymbolAction(symbolContext => SourceFunction.Collect(symbolContext, types, declared), SymbolKind.Method);
        start.RegisterCompilationEndAction(end =>
        {
            var places = declared
                .OrderBy(f => f.NameLocation.SourceTree?.FilePath, System.StringComparer.Ordinal)
                .ThenBy(f => f.NameLocation.SourceSpan.Start)
                .Select(f => new Place(f.Name, $"{f.Origin} ({f.Location?.ToShortString() ?? "this project"})", f.NameLocation))
                .ToList();
            var libraryPlaces = LibraryCatalog.Read(end.Compilation, end.CancellationToken)
                .SelectMany(library => library.Names.Distinct().Select(name =>
                    new Place(name, $"the referenced assembly {library.AssemblyName}", null)));
            places.AddRange(libraryPlaces);

            foreach (var group in places.GroupBy(p => p.Name, System.StringComparer.Ordinal).Where(g => g.Count() > 1))
            {
                var all = group.ToList();
                var inSource = all.Where(p => p.NameLocation is not null).ToList();
                if (inSource.Count == 0)
                {
                    // Two references clash: nothing in source to point at, yet this project's registry would fail.
                    end.ReportDiagnostic(Diagnostic.Create(
                        DiagnosticDescriptors.DuplicateName, Location.None, group.Key,
                        string.Join(" and ", all.Select(p => p.Description))));
                    continue;
                }
                foreach (var place in inSource)
                {
                    var others = all.Where(p => !ReferenceEquals(p, place)).ToList();
                    end.ReportDiagnostic(Diagnostic.Create(
                        DiagnosticDescriptors.DuplicateName,
                        place.NameLocation,
                        others.Select(o => o.NameLocation).OfType<Location>(),
                        group.Key,
                        string.Join(" and ", others.Select(o => o.Description))));
                }
            }
        });
    }

    private sealed record Place(string Name, string Description, Location? NameLocation);
}

/// <summary>An <c>[ExpansionFunction]</c> declared in source, as the end-of-compilation analyzers collect them.</summary>
internal sealed record SourceFunction(string Name, string Origin, LocationInfo? Location, Location NameLocation)
{
    public static void Collect(SymbolAnalysisContext context, KnownTypes types, ConcurrentBag<SourceFunction> into)
    {
        foreach (var attribute in context.Symbol.GetAttributes())
        {
            if (!types.IsExpansionFunctionAttribute(attribute)
                || attribute.ConstructorArguments.Length != 1
                || attribute.ConstructorArguments[0].Value is not string name
                || name.Length == 0)
            {
                continue;
            }
            var nameLocation = MalformedNameAnalyzer.NameArgumentLocation(attribute, context.CancellationToken);
            var origin = $"{context.Symbol.ContainingType?.ToDisplayString()}.{context.Symbol.Name}";
            into.Add(new SourceFunction(name, origin, LocationInfo.From(nameLocation), nameLocation));
        }
    }
}
