using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace LoomSched.Generators.Rules;

/// <summary>A referenced assembly's <c>[assembly: ExpansionFunctionLibrary(typeof(Provider), names...)]</c>.</summary>
internal sealed record ReferencedLibrary(string AssemblyName, INamedTypeSymbol? Provider, IReadOnlyList<string> Names);

/// <summary>
/// Reads the expansion functions that referenced assemblies announce. Only assembly-level attributes are read,
/// and only of assemblies that reference LoomSched.Core themselves, so this stays cheap on every compilation.
/// </summary>
internal static class LibraryCatalog
{
    public static IReadOnlyList<ReferencedLibrary> Read(Compilation compilation, CancellationToken cancellationToken)
    {
        var libraries = new List<ReferencedLibrary>();
        foreach (var assembly in compilation.SourceModule.ReferencedAssemblySymbols)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!ReferencesCore(assembly))
            {
                continue;
            }
            foreach (var attribute in assembly.GetAttributes())
            {
                if (attribute.AttributeClass?.ToDisplayString() != KnownTypes.ExpansionFunctionLibraryAttribute
                    || attribute.ConstructorArguments.Length != 2)
                {
                    continue;
                }
                var provider = attribute.ConstructorArguments[0].Value as INamedTypeSymbol;
                var names = attribute.ConstructorArguments[1].Kind == TypedConstantKind.Array
                    ? attribute.ConstructorArguments[1].Values.Select(v => v.Value as string).OfType<string>().ToList()
                    : new List<string>();
                libraries.Add(new ReferencedLibrary(assembly.Identity.Name, provider, names));
            }
        }
        libraries.Sort((a, b) => string.CompareOrdinal(a.AssemblyName, b.AssemblyName));
        return libraries;
    }

    private static bool ReferencesCore(IAssemblySymbol assembly)
    {
        foreach (var module in assembly.Modules)
        {
            foreach (var identity in module.ReferencedAssemblies)
            {
                if (identity.Name == KnownTypes.CoreAssemblyName)
                {
                    return true;
                }
            }
        }
        return false;
    }
}
