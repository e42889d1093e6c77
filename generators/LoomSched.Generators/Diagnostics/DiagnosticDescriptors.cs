using Microsoft.CodeAnalysis;

namespace LoomSched.Generators.Diagnostics;

/// <summary>The rules the loomsched analyzers enforce. Every one is an error: each would fail at run time otherwise.</summary>
public static class DiagnosticDescriptors
{
    private const string Category = "LoomSched.Expansion";

    /// <summary>LSCH001: an <c>[ExpansionFunction]</c> method has a shape the generator cannot call.</summary>
    public static readonly DiagnosticDescriptor UnsupportedSignature = new(
        id: "LSCH001",
        title: "Unsupported expansion function signature",
        messageFormat: "'{0}' cannot be an expansion function: {1}. Supported: a static, non-generic method, public or internal, "
            + "of a non-generic type, returning a sequence of string-keyed maps (e.g. List<Dictionary<string, object?>>, "
            + "IEnumerable<JsonObject>, IReadOnlyDictionary<string, string>[]), a Task<> or ValueTask<> of one, or an IAsyncEnumerable<> of maps, "
            + "and taking no parameters, an ExpansionContext, a CancellationToken, or both.",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The generated registry calls expansion functions directly, without reflection, so they must be static, "
            + "non-generic and reachable from the assembly (public or internal, not inside a private or protected type). "
            + "The result is one map per dispatch: any IEnumerable<>, list or array of a type implementing "
            + "IEnumerable<KeyValuePair<string, T>> (Dictionary<string, object?>, IReadOnlyDictionary<string, string>, JsonObject, ...), "
            + "optionally wrapped in Task<> or ValueTask<>, or an IAsyncEnumerable<> of maps. "
            + "Parameters, in either order: an optional ExpansionContext and an optional CancellationToken; nothing else.");

    /// <summary>LSCH002: two expansion functions share a name.</summary>
    public static readonly DiagnosticDescriptor DuplicateName = new(
        id: "LSCH002",
        title: "Duplicate expansion function name",
        messageFormat: "The expansion function name '{0}' is also used by {1}; each name must be unique across the project and the assemblies it references",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A schedule's expand_from must name exactly one function. Rename one of the two functions "
            + "(the name is the argument of [ExpansionFunction]); the registry would otherwise fail when it is created.",
        customTags: WellKnownDiagnosticTags.CompilationEnd);

    /// <summary>LSCH003: an expansion function name is empty or malformed.</summary>
    public static readonly DiagnosticDescriptor MalformedName = new(
        id: "LSCH003",
        title: "Malformed expansion function name",
        messageFormat: "The expansion function name '{0}' is {1}; a name starts with a letter, continues with letters, digits, '_', '.' or '-', and has at most 100 characters",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Names appear as plain YAML scalars in expand_from and in logs and messages: they start with an ASCII letter, "
            + "continue with ASCII letters, digits, '_', '.' or '-', and are at most 100 characters long (e.g. sessions.active, json_file).");

    /// <summary>LSCH004: a YAML config's <c>expand_from</c> names no registered function.</summary>
    public static readonly DiagnosticDescriptor UnknownExpandFrom = new(
        id: "LSCH004",
        title: "expand_from names an unknown expansion function",
        messageFormat: "expand_from names '{0}', which is not a registered expansion function{1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Every expand_from in the project's YAML configs (AdditionalFiles ending in .yaml or .yml) must name an "
            + "[ExpansionFunction] of the project or of an assembly it references; otherwise the schedule would fail at "
            + "start-up. Fix the name, or add the function. A project adds its configs with <AdditionalFiles Include=\"config/**/*.yaml\" />.",
        customTags: WellKnownDiagnosticTags.CompilationEnd);

    /// <summary>LSCH005: a <c>ValidateArgs_&lt;Method&gt;</c> method has a shape the generator cannot call.</summary>
    public static readonly DiagnosticDescriptor UnsupportedValidator = new(
        id: "LSCH005",
        title: "Unsupported expand_args validator",
        messageFormat: "'{0}' cannot validate the expand_args of '{1}': {2}. A validator is a static method named ValidateArgs_<Method> "
            + "in the function's type, public or internal, taking IReadOnlyDictionary<string, object?> and returning IEnumerable<ExpansionArgError>.",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "By convention, a static method named ValidateArgs_<Method> next to an [ExpansionFunction] method <Method> "
            + "checks a schedule's expand_args when the config is validated; the generator registers it with the function. "
            + "It must take one IReadOnlyDictionary<string, object?> and return IEnumerable<ExpansionArgError> (a list or array is fine).");
}
