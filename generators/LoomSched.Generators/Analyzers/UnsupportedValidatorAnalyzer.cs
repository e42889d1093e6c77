using System.Collections.Immutable;
using LoomSched.Generators.Diagnostics;
using LoomSched.Generators.Rules;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoomSched.Generators.Analyzers;

/// <summary>LSCH005: a <c>ValidateArgs_&lt;Method&gt;</c> method next to an expansion function that cannot serve as its validator.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnsupportedValidatorAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnsupportedValidator);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.For(start.Compilation);
            if (!types.HasCore)
            {
                return;
            }
            start.RegisterSymbolAction(symbolContext =>
            {
                var method = (IMethodSymbol)symbolContext.Symbol;
                var isFunction = false;
                foreach (var attribute in method.GetAttributes())
                {
                    isFunction |= types.IsExpansionFunctionAttribute(attribute);
                }
                if (!isFunction || method.ContainingType is null)
                {
                    return;
                }
                var (_, rejected, problem) = SignatureRules.FindValidator(method, types);
                if (rejected is null || problem is null)
                {
                    return;
                }
                symbolContext.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.UnsupportedValidator,
                    rejected.Locations.Length > 0 ? rejected.Locations[0] : Location.None,
                    rejected.Name,
                    method.Name,
                    problem));
            }, SymbolKind.Method);
        });
    }
}
