using LoomSched.Config.Validation;
using LoomSched.Expansion;

namespace LoomSched.BuiltIns;

/// <summary>Reads the <c>expand_args</c> the built-ins take, the same way at validation time and at fire time.</summary>
internal static class ExpansionArgs
{
    /// <summary>A required, non-empty string argument; null and a problem when it is missing or not a string.</summary>
    public static string? String(IReadOnlyDictionary<string, object?> args, string key, bool required, out ExpansionArgError? error)
    {
        error = null;
        if (!args.TryGetValue(key, out var value) || value is null)
        {
            if (required)
            {
                error = new ExpansionArgError(key, $"'{key}' is required");
            }
            return null;
        }
        if (value is not string text || text.Length == 0)
        {
            error = new ExpansionArgError(key, $"'{key}' must be a non-empty string, not {Describe(value)}");
            return null;
        }
        return text;
    }

    /// <summary>A required whole number of at least 0 that fits an int.</summary>
    public static int? Count(IReadOnlyDictionary<string, object?> args, string key, out ExpansionArgError? error)
    {
        error = null;
        if (!args.TryGetValue(key, out var value) || value is null)
        {
            error = new ExpansionArgError(key, $"'{key}' is required (a whole number of at least 0)");
            return null;
        }
        long? number = value switch
        {
            int i => i,
            long l => l,
            short s => s,
            byte b => b,
            sbyte sb => sb,
            ushort us => us,
            uint ui => ui,
            ulong ul when ul <= long.MaxValue => (long)ul,
            _ => null,
        };
        if (number is null || number < 0 || number > int.MaxValue)
        {
            error = new ExpansionArgError(key, $"'{key}' must be a whole number from 0 to {int.MaxValue}, not {Describe(value)}");
            return null;
        }
        return (int)number.Value;
    }

    /// <summary>Turns the problem found at fire time (when the config was not validated) into an exception.</summary>
    public static T Require<T>(T? value, ExpansionArgError? error, string function)
        where T : class
    {
        ThrowIfInvalid(error, function);
        return value ?? throw Invalid(null, function);
    }

    /// <inheritdoc cref="Require{T}(T, ExpansionArgError?, string)"/>
    public static T Require<T>(T? value, ExpansionArgError? error, string function)
        where T : struct
    {
        ThrowIfInvalid(error, function);
        return value ?? throw Invalid(null, function);
    }

    public static void ThrowIfInvalid(ExpansionArgError? error, string function)
    {
        if (error is not null)
        {
            throw Invalid(error, function);
        }
    }

    private static ExpansionException Invalid(ExpansionArgError? error, string function) =>
        new($"{function}: expand_args {error?.Message ?? "is invalid"}");

    /// <summary>
    /// The <paramref name="errors"/> found, then a note for every key of <paramref name="args"/> that
    /// <paramref name="function"/> does not read (<paramref name="known"/>): the config still loads (expand_args are
    /// free-form, and Loom's configs may carry more), but a misspelt optional key is said instead of silently ignored.
    /// </summary>
    public static IEnumerable<ExpansionArgError> Problems(
        IReadOnlyDictionary<string, object?> args, string function, string[] known, params ExpansionArgError?[] errors)
    {
        // A loop, not LINQ: LINQ over a struct is compiled anew for it, and the binary carries every copy.
        var found = new List<ExpansionArgError>(errors.Length);
        foreach (var error in errors)
        {
            if (error is { } e)
            {
                found.Add(e);
            }
        }
        // The pairs, not .Keys: every map type's key collection would otherwise be compiled into the binary.
        foreach (var (key, _) in args)
        {
            if (Array.IndexOf(known, key) >= 0)
            {
                continue;
            }
            string? near = DidYouMean.Nearest(key, known);
            string message = "'" + key + "' is ignored: " + function + " reads only '" + string.Join("', '", known) + "'";
            found.Add(new ExpansionArgError(key, near is null ? message : message + " (did you mean '" + near + "'?)")
            {
                IsNote = true,
            });
        }
        return found;
    }

    internal static string Describe(object? value) => value switch
    {
        null => "null",
        string s => $"the string \"{s}\"",
        bool b => b ? "true" : "false",
        IReadOnlyDictionary<string, object?> => "a map",
        System.Collections.IEnumerable => "a list",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? value.GetType().Name,
    };
}
