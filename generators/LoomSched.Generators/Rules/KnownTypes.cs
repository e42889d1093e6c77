using Microsoft.CodeAnalysis;

namespace LoomSched.Generators.Rules;

/// <summary>The types the signature rules compare against, looked up once per compilation.</summary>
internal sealed class KnownTypes
{
    public const string ExpansionFunctionAttribute = "LoomSched.Expansion.ExpansionFunctionAttribute";
    public const string ExpansionFunctionLibraryAttribute = "LoomSched.Expansion.ExpansionFunctionLibraryAttribute";
    public const string ExpansionRegistry = "LoomSched.Expansion.ExpansionRegistry";
    public const string CoreAssemblyName = "LoomSched.Core";

    private KnownTypes(Compilation compilation)
    {
        FunctionAttribute = compilation.GetTypeByMetadataName(ExpansionFunctionAttribute);
        ExpansionContext = compilation.GetTypeByMetadataName("LoomSched.Expansion.ExpansionContext");
        ExpansionArgError = compilation.GetTypeByMetadataName("LoomSched.Expansion.ExpansionArgError");
        CancellationToken = compilation.GetTypeByMetadataName("System.Threading.CancellationToken");
        Task = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task");
        TaskOfT = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task`1");
        ValueTask = compilation.GetTypeByMetadataName("System.Threading.Tasks.ValueTask");
        ValueTaskOfT = compilation.GetTypeByMetadataName("System.Threading.Tasks.ValueTask`1");
        AsyncEnumerableOfT = compilation.GetTypeByMetadataName("System.Collections.Generic.IAsyncEnumerable`1");
        KeyValuePair = compilation.GetTypeByMetadataName("System.Collections.Generic.KeyValuePair`2");
        ReadOnlyDictionary = compilation.GetTypeByMetadataName("System.Collections.Generic.IReadOnlyDictionary`2");
        EnumerableOfT = compilation.GetSpecialType(SpecialType.System_Collections_Generic_IEnumerable_T);
        String = compilation.GetSpecialType(SpecialType.System_String);
        Object = compilation.GetSpecialType(SpecialType.System_Object);
    }

    public INamedTypeSymbol? FunctionAttribute { get; }
    public INamedTypeSymbol? ExpansionContext { get; }
    public INamedTypeSymbol? ExpansionArgError { get; }
    public INamedTypeSymbol? CancellationToken { get; }
    public INamedTypeSymbol? Task { get; }
    public INamedTypeSymbol? TaskOfT { get; }
    public INamedTypeSymbol? ValueTask { get; }
    public INamedTypeSymbol? ValueTaskOfT { get; }
    public INamedTypeSymbol? AsyncEnumerableOfT { get; }
    public INamedTypeSymbol? KeyValuePair { get; }
    public INamedTypeSymbol? ReadOnlyDictionary { get; }
    public INamedTypeSymbol EnumerableOfT { get; }
    public INamedTypeSymbol String { get; }
    public INamedTypeSymbol Object { get; }

    /// <summary>Whether the expansion contracts of LoomSched.Core are available at all.</summary>
    public bool HasCore => FunctionAttribute is not null && ExpansionContext is not null;

    public static KnownTypes For(Compilation compilation) => new(compilation);

    public bool IsExpansionFunctionAttribute(AttributeData attribute) =>
        FunctionAttribute is not null && SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, FunctionAttribute);
}
