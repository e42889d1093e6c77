using LoomSched.Generators.Rules;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoomSched.Generators.Analyzers;

/// <summary>
/// What every analyzer of expansion functions does first: run concurrently, skip generated code, and act only in a
/// compilation that references LoomSched.Core (elsewhere no method can be an expansion function).
/// </summary>
public abstract class ExpansionAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public sealed override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.For(start.Compilation);
            if (types.HasCore)
            {
                Start(start, types);
            }
        });
    }

    /// <summary>Registers the analyzer's actions in a compilation that references LoomSched.Core.</summary>
    private protected abstract void Start(CompilationStartAnalysisContext start, KnownTypes types);
}
