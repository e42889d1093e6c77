using System.Diagnostics.CodeAnalysis;

namespace LoomSched.Expansion;

/// <summary>
/// Runs one expansion function. The result is one map per dispatch; values must be JSON-compatible
/// (null, string, bool, numbers, maps with string keys, sequences, or System.Text.Json nodes/elements).
/// </summary>
public delegate ValueTask<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?> ExpansionInvoker(
    ExpansionContext context, CancellationToken cancellationToken);

/// <summary>Checks a schedule's <c>expand_args</c> at validation time; returns one message per problem.</summary>
public delegate IEnumerable<ExpansionArgError> ExpansionArgsValidator(IReadOnlyDictionary<string, object?> args);

/// <summary>A problem with one <c>expand_args</c> key (<paramref name="Key"/> null for the map as a whole).</summary>
public readonly record struct ExpansionArgError(string? Key, string Message)
{
    /// <summary>
    /// A note, not an error: the config loads, and <c>validate</c> and the daemon's start show it with its location
    /// (an argument the function does not read, say, which a typo leaves silently ignored).
    /// </summary>
    public bool IsNote { get; init; }
}

/// <summary>A registered expansion function.</summary>
/// <param name="Name">The name used in <c>expand_from</c>.</param>
/// <param name="Invoke">Calls the function.</param>
/// <param name="Origin">Where it is defined (e.g. <c>MyApp.Sessions.Active</c>), for messages.</param>
/// <param name="ValidateArgs">Optional validation of <c>expand_args</c>.</param>
public sealed record ExpansionFunction(
    string Name, ExpansionInvoker Invoke, string Origin, ExpansionArgsValidator? ValidateArgs = null);

/// <summary>The functions a schedule may name in <c>expand_from</c>.</summary>
public interface IExpansionRegistry
{
    /// <summary>Every registered name, sorted.</summary>
    IReadOnlyCollection<string> Names { get; }

    /// <summary>Finds a function by name (case-sensitive).</summary>
    bool TryGet(string name, [NotNullWhen(true)] out ExpansionFunction? function);
}

/// <summary>A registry built from explicit registrations (the generated code and built-ins fill one).</summary>
public sealed class ExpansionRegistry : IExpansionRegistry
{
    private readonly Dictionary<string, ExpansionFunction> _functions = new(StringComparer.Ordinal);
    private string[]? _names;

    /// <summary>An empty registry.</summary>
    public static ExpansionRegistry Empty => new();

    /// <inheritdoc />
    public IReadOnlyCollection<string> Names =>
        _names ??= _functions.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Adds a function; a second function under the same name is an error.</summary>
    /// <exception cref="InvalidOperationException">The name is taken.</exception>
    public ExpansionRegistry Add(ExpansionFunction function)
    {
        if (!_functions.TryAdd(function.Name, function))
        {
            throw new InvalidOperationException(
                $"Expansion function '{function.Name}' is registered twice: {_functions[function.Name].Origin} and {function.Origin}.");
        }
        _names = null;
        return this;
    }

    /// <summary>Adds a function.</summary>
    public ExpansionRegistry Add(string name, ExpansionInvoker invoke, string origin, ExpansionArgsValidator? validateArgs = null) =>
        Add(new ExpansionFunction(name, invoke, origin, validateArgs));

    /// <inheritdoc />
    public bool TryGet(string name, [NotNullWhen(true)] out ExpansionFunction? function) =>
        _functions.TryGetValue(name, out function);
}
