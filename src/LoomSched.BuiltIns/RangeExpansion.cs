using LoomSched.Expansion;

namespace LoomSched.BuiltIns;

/// <summary><c>range</c>: <c>expand_args.count</c> dispatches, as <c>{index: 0}</c> … <c>{index: count - 1}</c>.</summary>
internal static class RangeExpansion
{
    public const string Name = "range";

    [ExpansionFunction(Name)]
    internal static IEnumerable<KeyValuePair<string, object?>[]> Expand(ExpansionContext context)
    {
        // Checked here, not inside an iterator, so that a bad count fails the call itself rather than a later enumeration.
        var count = ExpansionArgs.Require(ExpansionArgs.Count(context.Args, "count", out var error), error, Name);
        // A one-entry map as an array of its pairs: what a message's merge takes as it is (a dictionary per index was
        // three allocations and most of the cost of producing a map).
        return Enumerable.Range(0, count).Select(static i => new KeyValuePair<string, object?>[] { new("index", i) });
    }

    internal static IEnumerable<ExpansionArgError> ValidateArgs_Expand(IReadOnlyDictionary<string, object?> args)
    {
        ExpansionArgs.Count(args, "count", out var error);
        return ExpansionArgs.Problems(args, Name, ["count"], error);
    }
}
