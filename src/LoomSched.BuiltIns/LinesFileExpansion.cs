using System.Runtime.CompilerServices;
using LoomSched.Expansion;

namespace LoomSched.BuiltIns;

/// <summary>
/// <c>lines_file</c>: one dispatch per non-blank line of the text file <c>expand_args.path</c>, as
/// <c>{key: line}</c> with <c>key</c> = <c>expand_args.key</c> or <c>item</c>. Lines are trimmed; re-read at every fire.
/// </summary>
internal static class LinesFileExpansion
{
    public const string Name = "lines_file";
    public const string DefaultKey = "item";

    [ExpansionFunction(Name)]
    internal static async IAsyncEnumerable<IReadOnlyDictionary<string, string>> Expand(
        ExpansionContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var path = ExpansionArgs.Require(ExpansionArgs.String(context.Args, "path", required: true, out var pathError), pathError, Name);
        var key = ExpansionArgs.String(context.Args, "key", required: false, out var keyError);
        ExpansionArgs.ThrowIfInvalid(keyError, Name);
        key ??= DefaultKey;

        var bytes = await BoundedFile.ReadAllBytesAsync(Name, path, lines: true, cancellationToken).ConfigureAwait(false);
        using (var reader = new StreamReader(new MemoryStream(bytes, writable: false), detectEncodingFromByteOrderMarks: true))
        {
            while (reader.ReadLine() is { } line)
            {
                var item = line.Trim();
                if (item.Length > 0)
                {
                    yield return new Dictionary<string, string>(1, StringComparer.Ordinal) { [key] = item };
                }
            }
        }
    }

    internal static IEnumerable<ExpansionArgError> ValidateArgs_Expand(IReadOnlyDictionary<string, object?> args)
    {
        ExpansionArgs.String(args, "path", required: true, out var pathError);
        ExpansionArgs.String(args, "key", required: false, out var keyError);
        return ExpansionArgs.Problems(args, Name, ["path", "key"], pathError, keyError);
    }
}
