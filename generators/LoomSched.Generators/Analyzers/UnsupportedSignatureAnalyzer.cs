using System.Collections.Immutable;
using LoomSched.Generators.Diagnostics;
using LoomSched.Generators.Rules;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoomSched.Generators.Analyzers;

/// <summary>LSCH001: an <c>[ExpansionFunction]</c> method whose shape the generated registry cannot call.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnsupportedSignatureAnalyzer : ExpansionAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnsupportedSignature);

    /// <inheritdoc />
    private protected override void Start(CompilationStartAnalysisContext start, KnownTypes types)
    {
        start.RegisterSymbolAction(symbolContext => Analyze(symbolContext.Symbol, types, symbolContext.ReportDiagnostic), SymbolKind.Method);
        // Local functions are not symbols that symbol actions visit.
        start.RegisterSyntaxNodeAction(
            nodeContext =>
            {
                if (nodeContext.SemanticModel.GetDeclaredSymbol((LocalFunctionStatementSyntax)nodeContext.Node, nodeContext.CancellationToken) is { } local)
                {
                    Analyze(local, types, nodeContext.ReportDiagnostic);
                }
            },
            SyntaxKind.LocalFunctionStatement);
    }

    private static void Analyze(ISymbol symbol, KnownTypes types, System.Action<Diagnostic> report)
    {
        if (symbol is not IMethodSymbol method || !HasFunctionAttribute(method, types))
        {
            return;
        }
        var check = SignatureRules.Check(method, types);
        if (check.Problems.Count == 0)
        {
            return;
        }
        report(Diagnostic.Create(
            DiagnosticDescriptors.UnsupportedSignature,
            method.Locations.Length > 0 ? method.Locations[0] : Location.None,
            method.Name,
            string.Join("; ", check.Problems)));
    }

    private static bool HasFunctionAttribute(IMethodSymbol method, KnownTypes types)
    {
        foreach (var attribute in method.GetAttributes())
        {
            if (types.IsExpansionFunctionAttribute(attribute))
            {
                return true;
            }
        }
        return false;
    }
}
