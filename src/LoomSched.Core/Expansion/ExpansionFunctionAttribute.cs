namespace LoomSched.Expansion;

/// <summary>
/// Marks a static method as an expansion function that schedules can name in <c>expand_from</c>.
/// The loomsched source generator collects every marked method into a reflection-free registry;
/// the analyzers reject unsupported signatures and YAML references to names that do not exist.
/// </summary>
/// <remarks>
/// Supported shapes: <c>static</c>, non-generic, returning a sequence of string-keyed maps
/// (or a <see cref="Task{TResult}"/> / <see cref="ValueTask{TResult}"/> of one), taking optionally an
/// <see cref="ExpansionContext"/> and/or a <see cref="CancellationToken"/>.
/// </remarks>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class ExpansionFunctionAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="name">The name schedules use in <c>expand_from</c>, e.g. <c>sessions.active</c>.</param>
    public ExpansionFunctionAttribute(string name) => Name = name;

    /// <summary>The name schedules use in <c>expand_from</c>.</summary>
    public string Name { get; }
}
