using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using LoomSched.Generators.Diagnostics;
using LoomSched.Generators.Rules;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoomSched.Generators.Analyzers;

/// <summary>LSCH005: a <c>ValidateArgs_&lt;Method&gt;</c> method next to an expansion function that cannot serve as its validator.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnsupportedValidatorAnalyzer : ExpansionAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnsupportedValidator);

    /// <inheritdoc />
    private protected override void Start(CompilationStartAnalysisContext start, KnownTypes types)
    {
        start.RegisterSymbolAction(symbolContext =>
        {
            var method = (IMethodSymbol)symbolContext.Symbol;
            if (method.ContainingType is null)
            {
                return;
            }
            if (!IsFunction(method, types))
            {
                ReportOrphan(symbolContext, method, types);
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
    }

    private static bool IsFunction(IMethodSymbol method, KnownTypes types)
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

    /// <summary>
    /// A <c>ValidateArgs_X</c> in a type of expansion functions, with no function <c>X</c> beside it (a typo, or a
    /// function renamed without it): it would silently validate nothing.
    /// </summary>
    private static void ReportOrphan(SymbolAnalysisContext context, IMethodSymbol method, KnownTypes types)
    {
        if (!method.Name.StartsWith(SignatureRules.ValidatorPrefix, StringComparison.Ordinal)
            || method.Name.Length == SignatureRules.ValidatorPrefix.Length)
        {
            return;
        }
        string target = method.Name.Substring(SignatureRules.ValidatorPrefix.Length);
        var functions = new List<string>();
        foreach (var member in method.ContainingType.GetMembers())
        {
            if (member is IMethodSymbol candidate && IsFunction(candidate, types))
            {
                if (candidate.Name == target)
                {
                    return;
                }
                functions.Add(candidate.Name);
            }
        }
        if (functions.Count == 0)
        {
            return; // not a type of expansion functions: the name is a coincidence
        }
        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.UnsupportedValidator,
            method.Locations.Length > 0 ? method.Locations[0] : Location.None,
            method.Name,
            target,
            $"this type has no [ExpansionFunction] method named '{target}' (its functions: {string.Join(", ", functions)}), so it would validate nothing"));
    }
}
