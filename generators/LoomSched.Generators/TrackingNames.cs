namespace LoomSched.Generators;

/// <summary>
/// Names of the generator's pipeline steps, so that tests can check each step's caching
/// (<c>GeneratorRunResult.TrackedSteps</c>).
/// </summary>
public static class TrackingNames
{
    /// <summary>Each <c>[ExpansionFunction]</c> method parsed to a spec (null when invalid).</summary>
    public const string FunctionSpecs = nameof(FunctionSpecs);

    /// <summary>The valid specs only.</summary>
    public const string ValidFunctions = nameof(ValidFunctions);

    /// <summary>All valid specs of the compilation, collected.</summary>
    public const string AllFunctions = nameof(AllFunctions);

    /// <summary>The compilation's assembly name and the functions its references announce.</summary>
    public const string CompilationInfo = nameof(CompilationInfo);

    /// <summary>Everything the emitter writes from.</summary>
    public const string Registry = nameof(Registry);
}
