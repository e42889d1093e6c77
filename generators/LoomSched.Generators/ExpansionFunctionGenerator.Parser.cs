using System.Linq;
using System.Text;
using System.Threading;
using LoomSched.Generators.Model;
using LoomSched.Generators.Rules;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace LoomSched.Generators;

public sealed partial class ExpansionFunctionGenerator
{
    /// <summary>Turns symbols into specs; everything symbol-related stays inside this class.</summary>
    internal static class Parser
    {
        private const string ProviderClassPrefix = "ExpansionFunctions_";

        private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        public static ExpansionFunctionSpec? ParseFunction(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not IMethodSymbol method || context.Attributes.Length == 0)
            {
                return null;
            }
            var name = context.Attributes[0].ConstructorArguments.FirstOrDefault().Value as string;
            if (!NameRules.IsValid(name))
            {
                return null;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var types = KnownTypes.For(context.SemanticModel.Compilation);
            var check = SignatureRules.Check(method, types);
            if (!check.IsValid)
            {
                return null;
            }
            var (validator, _, _) = SignatureRules.FindValidator(method, types);

            // The map type is spelled without a top-level '?': it is a generic argument constrained to a map, and a
            // null map in the sequence is reported at run time instead.
            var mapType = check.MapType!.IsReferenceType
                ? check.MapType.WithNullableAnnotation(NullableAnnotation.NotAnnotated)
                : check.MapType;

            return new ExpansionFunctionSpec(
                Name: name!,
                ContainingType: method.ContainingType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                MethodName: Escape(method.Name),
                Origin: $"{method.ContainingType.ToDisplayString()}.{method.Name}",
                Arguments: check.Arguments.ToEquatableArray(),
                Result: check.Result,
                MapType: mapType.ToDisplayString(TypeFormat),
                ValueType: check.ValueType!.ToDisplayString(TypeFormat),
                ValidatorMethodName: validator is null ? null : Escape(validator.Name));
        }

        public static CompilationSpec ParseCompilation(Compilation compilation, CancellationToken cancellationToken)
        {
            var assemblyName = compilation.AssemblyName ?? "";
            var referencesCore = compilation.GetTypeByMetadataName(KnownTypes.ExpansionRegistry) is not null;
            if (!referencesCore)
            {
                return new CompilationSpec(false, false, assemblyName, "", EquatableArray<ReferencedLibrarySpec>.Empty);
            }

            var libraries = LibraryCatalog.Read(compilation, cancellationToken)
                .Where(library => library.Provider is { DeclaredAccessibility: Accessibility.Public })
                .Select(library => new ReferencedLibrarySpec(
                    library.AssemblyName,
                    library.Provider!.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                    library.Names.ToEquatableArray()))
                .ToEquatableArray();

            return new CompilationSpec(
                ReferencesCore: true,
                CanAnnounceLibrary: compilation.GetTypeByMetadataName(KnownTypes.ExpansionFunctionLibraryAttribute) is not null,
                AssemblyName: assemblyName,
                ProviderClassName: ProviderClassName(assemblyName),
                Libraries: libraries);
        }

        /// <summary>
        /// <c>ExpansionFunctions_My_App</c> for assembly <c>My.App</c>: the provider classes of several assemblies share
        /// the <c>LoomSched.Generated</c> namespace, so the assembly name keeps them apart.
        /// </summary>
        internal static string ProviderClassName(string assemblyName)
        {
            var builder = new StringBuilder(ProviderClassPrefix);
            foreach (var c in assemblyName)
            {
                builder.Append(char.IsLetterOrDigit(c) || c == '_' ? c : '_');
            }
            return builder.ToString();
        }

        private static string Escape(string identifier) =>
            SyntaxFacts.GetKeywordKind(identifier) != SyntaxKind.None ? "@" + identifier : identifier;
    }
}
