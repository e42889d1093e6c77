using System.Collections.Immutable;
using LoomSched.Generators.Diagnostics;
using LoomSched.Generators.Rules;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoomSched.Generators.Analyzers;

/// <summary>LSCH003: an <c>[ExpansionFunction]</c> name that is empty or malformed.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class MalformedNameAnalyzer : ExpansionAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.MalformedName);

    /// <inheritdoc />
    private protected override void Start(CompilationStartAnalysisContext start, KnownTypes types)
    {
        start.RegisterSymbolAction(symbolContext =>
        {
            foreach (var attribute in symbolContext.Symbol.GetAttributes())
            {
                if (!types.IsExpansionFunctionAttribute(attribute) || attribute.ConstructorArguments.Length != 1)
                {
                    continue;
                }
                var name = attribute.ConstructorArguments[0].Value as string;
                var problem = NameRules.Problem(name);
                if (problem is not null)
                {
                    symbolContext.ReportDiagnostic(Diagnostic.Create(
                        DiagnosticDescriptors.MalformedName, NameArgumentLocation(attribute, symbolContext.CancellationToken), name ?? "", problem));
                }
            }
        }, SymbolKind.Method);
    }

    internal static Location NameArgumentLocation(AttributeData attribute, System.Threading.CancellationToken cancellationToken)
    {
        var syntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        if (syntax?.ArgumentList is { Arguments.Count: > 0 } arguments)
        {
            return arguments.Arguments[0].GetLocation();
        }
        return syntax?.GetLocation() ?? Location.None;
    }
}
