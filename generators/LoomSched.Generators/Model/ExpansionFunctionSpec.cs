namespace LoomSched.Generators.Model;

/// <summary>How the generated invoker gets the maps out of the method's return value.</summary>
internal enum ResultKind
{
    /// <summary>The method returns the sequence itself.</summary>
    Sequence,

    /// <summary><c>Task&lt;sequence&gt;</c>.</summary>
    Task,

    /// <summary><c>ValueTask&lt;sequence&gt;</c>.</summary>
    ValueTask,

    /// <summary><c>IAsyncEnumerable&lt;map&gt;</c>, collected before dispatch.</summary>
    AsyncEnumerable,
}

/// <summary>What the generated invoker passes for one parameter.</summary>
internal enum ArgumentKind
{
    Context,
    CancellationToken,
}

/// <summary>
/// One valid <c>[ExpansionFunction]</c> method, as the emitter needs it: names and type spellings only, no symbols,
/// and no location (a location would change on every edit above the method and defeat caching).
/// </summary>
/// <param name="Name">The name schedules use in <c>expand_from</c>.</param>
/// <param name="ContainingType">The containing type, fully qualified with <c>global::</c>.</param>
/// <param name="MethodName">The method name, escaped if it is a keyword.</param>
/// <param name="Origin">Where the function is defined (<c>Namespace.Type.Method</c>), for messages.</param>
/// <param name="Arguments">The method's parameters, in order.</param>
/// <param name="Result">How the result is obtained.</param>
/// <param name="MapType">The map type, fully qualified, e.g. <c>global::System.Text.Json.Nodes.JsonObject</c>.</param>
/// <param name="ValueType">The map's value type, fully qualified, with its nullable annotation.</param>
/// <param name="ValidatorMethodName">The <c>ValidateArgs_&lt;Method&gt;</c> method, when the type declares a valid one.</param>
internal readonly record struct ExpansionFunctionSpec(
    string Name,
    string ContainingType,
    string MethodName,
    string Origin,
    EquatableArray<ArgumentKind> Arguments,
    ResultKind Result,
    string MapType,
    string ValueType,
    string? ValidatorMethodName);
