using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using LoomSched.Generators.Diagnostics;
using LoomSched.Generators.Model;
using LoomSched.Generators.Rules;
using LoomSched.Generators.Yaml;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoomSched.Generators.Analyzers;

/// <summary>
/// LSCH004: an <c>expand_from</c> in a YAML AdditionalFile (<c>*.yaml</c>, <c>*.yml</c>) that names no expansion
/// function of the project or of the assemblies it references. Reported on the YAML file, at the value.
/// </summary>
/// <remarks>
/// A project chooses which configs are checked by listing them as AdditionalFiles, e.g.
/// <c>&lt;AdditionalFiles Include="config/**/*.yaml" /&gt;</c> or <c>&lt;AdditionalFiles Include="my/*.yml" /&gt;</c>;
/// other AdditionalFiles, and YAML files without a top-level <c>schedules</c> key, are ignored. Files are read with
/// <see cref="ExpandFromScanner"/>, not a YAML parser.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnknownExpandFromAnalyzer : ExpansionAnalyzer
{
    private const int ListedNames = 8;

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnknownExpandFrom);

    /// <inheritdoc />
    private protected override void Start(CompilationStartAnalysisContext start, KnownTypes types)
    {
        var yamlFiles = start.Options.AdditionalFiles.Where(IsYaml).ToList();
        if (yamlFiles.Count == 0)
        {
            return;
        }
        var declared = new ConcurrentBag<SourceFunction>();
        start.RegisterSymbolAction(symbolContext => SourceFunction.Collect(symbolContext, types, declared), SymbolKind.Method);
        start.RegisterCompilationEndAction(end =>
        {
            var known = new HashSet<string>(declared.Select(f => f.Name), StringComparer.Ordinal);
            foreach (var library in LibraryCatalog.Read(end.Compilation, end.CancellationToken))
            {
                known.UnionWith(library.Names);
            }
            foreach (var file in yamlFiles)
            {
                foreach (var reference in ScanQuietly(file, end.CancellationToken))
                {
                    if (!known.Contains(reference.Name))
                    {
                        end.ReportDiagnostic(Diagnostic.Create(
                            DiagnosticDescriptors.UnknownExpandFrom,
                            new LocationInfo(file.Path, reference.Span, reference.LineSpan).ToLocation(),
                            reference.Name,
                            Hint(reference.Name, known)));
                    }
                }
            }
        });
    }

    private static bool IsYaml(AdditionalText file) =>
        file.Path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || file.Path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A YAML file the scanner cannot read must not break the build: an analyzer exception surfaces as a warning
    /// (an error under TreatWarningsAsErrors) that the user can do nothing about. Such a file is skipped.
    /// </summary>
    private static ImmutableArray<ExpandFromReference> ScanQuietly(AdditionalText file, System.Threading.CancellationToken cancellationToken)
    {
        try
        {
            var text = file.GetText(cancellationToken);
            return text is null || !IsSchedulerConfig(text)
                ? ImmutableArray<ExpandFromReference>.Empty
                : ExpandFromScanner.Scan(text, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception)
        {
            return ImmutableArray<ExpandFromReference>.Empty;
        }
    }

    /// <summary>
    /// Whether a YAML file is a scheduler config: it has a top-level <c>schedules</c> key (or is one flow mapping,
    /// which the check cannot see into). Other YAML among the AdditionalFiles — a compose file, a CI workflow, a
    /// template — may say <c>expand_from</c> for reasons of its own, and is not checked.
    /// </summary>
    internal static bool IsSchedulerConfig(SourceText text)
    {
        foreach (var line in text.Lines)
        {
            var content = text.ToString(line.Span);
            if (content.StartsWith("{", StringComparison.Ordinal))
            {
                return true;
            }
            foreach (var key in new[] { "schedules", "\"schedules\"", "'schedules'" })
            {
                if (content.StartsWith(key, StringComparison.Ordinal) && content.Substring(key.Length).TrimStart(' ', '\t').StartsWith(":", StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static string Hint(string name, HashSet<string> known)
    {
        if (known.Count == 0)
        {
            return "; no expansion functions are registered in this project or its references";
        }
        var nearest = NameRules.Nearest(name, known);
        if (nearest is not null)
        {
            return $"; did you mean '{nearest}'?";
        }
        var listed = known.OrderBy(n => n, StringComparer.Ordinal).Take(ListedNames).ToList();
        return $"; registered: {string.Join(", ", listed)}{(known.Count > ListedNames ? ", ..." : "")}";
    }
}
