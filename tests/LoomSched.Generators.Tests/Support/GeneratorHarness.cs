using System.Collections.Immutable;
using System.Runtime.InteropServices;
using LoomSched.Expansion;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace LoomSched.Generators.Tests.Support;

/// <summary>Builds compilations against the running framework plus LoomSched.Core, and runs the generator and analyzers on them.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    /// <summary>The runtime's own assemblies (from TRUSTED_PLATFORM_ASSEMBLIES) and LoomSched.Core.</summary>
    public static ImmutableArray<MetadataReference> References { get; } = LoadReferences();

    public static CSharpCompilation Compile(string source, string assemblyName = "TestApp", params MetadataReference[] extra) =>
        Compile([source], assemblyName, extra);

    public static CSharpCompilation Compile(IEnumerable<string> sources, string assemblyName = "TestApp", params MetadataReference[] extra) =>
        CSharpCompilation.Create(
            assemblyName,
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"File{i}.cs")),
            References.AddRange(extra),
            new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create(
            [new ExpansionFunctionGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator; returns its result and the compilation with the generated sources added.</summary>
    public static (GeneratorDriver Driver, GeneratorRunResult Result, Compilation Output) Run(Compilation compilation, GeneratorDriver? driver = null)
    {
        driver = (driver ?? CreateDriver()).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        Assert.Empty(diagnostics);
        return (driver, driver.GetRunResult().Results.Single(), output);
    }

    public static string GeneratedSource(GeneratorRunResult result, string hintName) =>
        result.GeneratedSources.Single(s => s.HintName == hintName).SourceText.ToString();

    /// <summary>Errors and warnings of a compilation (generated code must compile cleanly).</summary>
    public static IReadOnlyList<Diagnostic> Problems(Compilation compilation) =>
        compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();

    /// <summary>Compiles, runs the generator (as a build would), then the given analyzers with the given YAML files.</summary>
    public static async Task<IReadOnlyList<Diagnostic>> AnalyzeAsync(
        Compilation compilation, DiagnosticAnalyzer analyzer, params AdditionalText[] additionalFiles)
    {
        var (_, _, output) = Run(compilation);
        var options = new AnalyzerOptions([.. additionalFiles]);
        var withAnalyzers = output.WithAnalyzers([analyzer], options);
        var diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync();
        var failures = diagnostics.Where(d => d.Id == "AD0001").ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        return diagnostics.OrderBy(d => d.Location.SourceSpan.Start).ToList();
    }

    /// <summary>Emits a compilation (after running the generator on it) and references the image, as a referenced library.</summary>
    public static MetadataReference EmitLibrary(string source, string assemblyName) =>
        MetadataReference.CreateFromImage(EmitLibraryImage(source, assemblyName));

    /// <summary>The image of a compilation after running the generator on it.</summary>
    public static byte[] EmitLibraryImage(string source, string assemblyName) =>
        EmitImage(Run(Compile(source, assemblyName)).Output);

    public static byte[] EmitImage(Compilation compilation)
    {
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        return image.ToArray();
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var runtimeDirectory = RuntimeEnvironment.GetRuntimeDirectory();
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return trusted
            .Where(path => path.StartsWith(runtimeDirectory, StringComparison.Ordinal))
            .Append(typeof(ExpansionRegistry).Assembly.Location)
            .Distinct()
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToImmutableArray();
    }
}

/// <summary>A YAML config handed to the analyzers as an AdditionalFile.</summary>
internal sealed class InMemoryAdditionalText(string path, string text) : AdditionalText
{
    public override string Path { get; } = path;

    public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
}
