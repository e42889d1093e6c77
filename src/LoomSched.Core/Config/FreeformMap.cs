namespace LoomSched.Config;

/// <summary>
/// Free-form maps (<c>context</c>, <c>payload</c>, <c>expand_args</c>) are ordered string-keyed maps whose
/// values are null, string, bool, long, double, nested maps (<see cref="IReadOnlyDictionary{TKey,TValue}"/>)
/// or lists (<see cref="IReadOnlyList{T}"/>). Key order is the file's order and is kept on the wire.
/// </summary>
public static class FreeformMap
{
    /// <summary>An empty map.</summary>
    public static IReadOnlyDictionary<string, object?> Empty { get; } = new OrderedDictionary<string, object?>();
}
