using System.Text.Json;
using LoomSched.Control;
using LoomSched.Expansion;

namespace LoomSched.BuiltIns;

/// <summary>
/// <c>json_file</c>: one dispatch per object of a JSON array read from <c>expand_args.path</c>, re-read at every fire.
/// </summary>
internal static class JsonFileExpansion
{
    public const string Name = "json_file";

    [ExpansionFunction(Name)]
    internal static async Task<List<OrderedDictionary<string, object?>>> Expand(ExpansionContext context, CancellationToken cancellationToken)
    {
        var path = ExpansionArgs.Require(ExpansionArgs.String(context.Args, "path", required: true, out var error), error, Name);
        byte[] bytes = await BoundedFile.ReadAllBytesAsync(Name, path, lines: false, cancellationToken).ConfigureAwait(false);

        // A byte order mark (some Windows editors write one) is not JSON, and JsonDocument does not skip it.
        var json = bytes.AsMemory();
        if (json.Span.StartsWith("\uFEFF"u8))
        {
            json = json[3..];
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, JsonValues.Options);
        }
        catch (JsonException e)
        {
            throw new ExpansionException(
                $"{Name}: '{path}' is not valid JSON {JsonErrorText.Describe(json.Span, e, JsonValues.Options.MaxDepth)}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
            {
                throw new ExpansionException(
                    $"{Name}: '{path}' holds {JsonValues.Describe(root.ValueKind)}; it must hold an array of objects, one per dispatch");
            }
            var maps = new List<OrderedDictionary<string, object?>>(root.GetArrayLength());
            var index = 0;
            foreach (var element in root.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.Object)
                {
                    throw new ExpansionException(
                        $"{Name}: element {index} of the array in '{path}' is {JsonValues.Describe(element.ValueKind)}; every element must be an object");
                }
                try
                {
                    maps.Add(JsonValues.ToMap(element));
                }
                catch (InvalidOperationException e)
                {
                    // JSON may escape half a surrogate pair ("\ud800"); a .NET string read from it, or a message, cannot hold one.
                    throw new ExpansionException(
                        $"{Name}: element {index} of the array in '{path}' holds text that is not Unicode (an escaped lone surrogate such as \"\\ud800\"), which no message can carry", e);
                }
                catch (OverflowException e)
                {
                    throw new ExpansionException($"{Name}: element {index} of the array in '{path}' holds {e.Message}", e);
                }
                index++;
            }
            return maps;
        }
    }

    internal static IEnumerable<ExpansionArgError> ValidateArgs_Expand(IReadOnlyDictionary<string, object?> args)
    {
        ExpansionArgs.String(args, "path", required: true, out var error);
        return ExpansionArgs.Problems(args, Name, ["path"], error);
    }
}
