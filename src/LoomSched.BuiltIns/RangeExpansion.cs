using LoomSched.Expansion;

namespace LoomSched.BuiltIns;

/// <summary><c>range</c>: <c>expand_args.count</c> dispatches, as <c>{index: 0}</c> … <c>{index: count - 1}</c>.</summary>
internal static class RangeExpansion
{
    public const string Name = "range";

    [ExpansionFunction(Name)]
    internal static IEnumerable<Dictionary<string, int>> Expand(ExpansionContext context)
    {
        // Checked here, not inside an iterator, so that a bad count fails the call itself rather than a later enumeration.
        var count = ExpansionArgs.Require(ExpansionArgs.Count(context.Args, "count", out var error), error, Name);
        return Enumerable.Range(0, count).Select(static i => new Dictionary<string, int>(1, StringComparer.Ordinal) { ["index"] = i });
    }

    internal static IEnumerable<ExpansionArgError> ValidateArgs_Expand(IReadOnlyDictionary<string, object?> args)
    {
        ExpansionArgs.Count(args, "count", out var error);
        return ExpansionArgs.Errors(error);
    }
}
