namespace LoomSched.Generators.Model;

/// <summary>A referenced assembly that announces expansion functions with <c>[assembly: ExpansionFunctionLibrary]</c>.</summary>
/// <param name="AssemblyName">The referenced assembly.</param>
/// <param name="ProviderType">Its generated provider class, fully qualified with <c>global::</c>.</param>
/// <param name="Names">The function names it announces.</param>
internal readonly record struct ReferencedLibrarySpec(string AssemblyName, string ProviderType, EquatableArray<string> Names);

/// <summary>What the generator needs to know about the compilation itself.</summary>
/// <param name="ReferencesCore">Whether LoomSched.Core (and so <c>ExpansionRegistry</c>) is available; nothing is generated otherwise.</param>
/// <param name="CanAnnounceLibrary">Whether <c>ExpansionFunctionLibraryAttribute</c> exists to announce this assembly's functions.</param>
/// <param name="AssemblyName">The compilation's assembly name.</param>
/// <param name="ProviderClassName">The class that registers this assembly's functions, unique per assembly.</param>
/// <param name="Libraries">The referenced assemblies with functions, sorted by assembly name.</param>
internal readonly record struct CompilationSpec(
    bool ReferencesCore,
    bool CanAnnounceLibrary,
    string AssemblyName,
    string ProviderClassName,
    EquatableArray<ReferencedLibrarySpec> Libraries);

/// <summary>Everything the emitter writes from: this compilation's functions and the referenced libraries.</summary>
internal readonly record struct RegistrySpec(CompilationSpec Compilation, EquatableArray<ExpansionFunctionSpec> Functions);
