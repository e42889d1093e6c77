using System.ComponentModel;

namespace LoomSched.Expansion;

/// <summary>
/// Announces the expansion functions an assembly defines, so that the registry generated for an assembly that
/// references it can call them directly. The loomsched source generator writes this attribute; do not apply it by hand.
/// </summary>
/// <remarks>
/// <paramref name="provider"/> is a generated public static class with a method
/// <c>public static void AddTo(ExpansionRegistry registry)</c> that registers every function in <paramref name="names"/>.
/// The names also let the analyzers check <c>expand_from</c> references and duplicates across assemblies
/// without loading the assembly.
/// </remarks>
/// <param name="provider">The generated class that registers the assembly's functions.</param>
/// <param name="names">The names of the functions it registers.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false, Inherited = false)]
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ExpansionFunctionLibraryAttribute(Type provider, params string[] names) : Attribute
{
    /// <summary>The generated class whose <c>AddTo(ExpansionRegistry)</c> registers the functions.</summary>
    public Type Provider { get; } = provider;

    /// <summary>The names of the functions the assembly defines.</summary>
    public IReadOnlyList<string> Names { get; } = names;
}
