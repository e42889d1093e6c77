using LoomSched.Config.Validation;

namespace LoomSched.Config.Yaml;

/// <summary>
/// Turns a free-form subtree (<c>context</c>, <c>payload</c>, <c>expand_args</c>) into CLR values typed as PyYAML
/// types them: null, string, bool, long (BigInteger beyond long), double, ordered maps and lists. A node that aliases share is converted
/// once, where it is first met, and its value shared in turn (the values are read-only): what a config builds is
/// bounded by what is written, not by what aliases repeat, and a bad value is reported once, not once per alias.
/// </summary>
internal sealed class FreeformConverter(Diagnostics diagnostics)
{
    private readonly Dictionary<YamlNode, object?> _shared = new(ReferenceEqualityComparer.Instance);

    /// <summary>The converted value; problems are reported and the value left null.</summary>
    public object? Convert(YamlNode node, string path)
    {
        if (!node.IsShared)
        {
            return ConvertOnce(node, path);
        }
        if (!_shared.TryGetValue(node, out object? value))
        {
            value = ConvertOnce(node, path);
            _shared.Add(node, value);
        }
        return value;
    }

    private object? ConvertOnce(YamlNode node, string path)
    {
        switch (node)
        {
            case ScalarNode scalar:
                if (!ScalarTyping.TryResolve(scalar, out object? value, out string? error))
                {
                    diagnostics.Error(scalar, path, $"this value {error}");
                    return null;
                }
                if (value is double d && !double.IsFinite(d))
                {
                    // Python's json.dumps would write Infinity or NaN, which is not JSON; every fire would fail here.
                    diagnostics.Error(scalar, path,
                        $"{scalar.Value} is {(double.IsNaN(d) ? "not a number" : "an infinite number")}, which JSON cannot carry; quote it to send the text \"{scalar.Value}\"");
                    return null;
                }
                if (ScalarTyping.IsTimestamp(scalar))
                {
                    diagnostics.Note(scalar, path,
                        $"{scalar.Value} is a date to PyYAML, so Loom would send a date where loomsched sends the text \"{scalar.Value}\"; quote it so that both send the same string");
                }
                return value;
            case SequenceNode seq:
                var list = new List<object?>(seq.Items.Count);
                for (int i = 0; i < seq.Items.Count; i++)
                {
                    list.Add(Convert(seq.Items[i], KeyPath.Index(path, i)));
                }
                return list;
            case MapNode map:
                return ConvertEntries(map, path);
            default:
                return null;
        }
    }

    /// <summary>A free-form map; schedules whose maps are one aliased node share the result.</summary>
    public IReadOnlyDictionary<string, object?> ConvertMap(MapNode map, string path) =>
        (IReadOnlyDictionary<string, object?>)Convert(map, path)!;

    private OrderedDictionary<string, object?> ConvertEntries(MapNode map, string path)
    {
        var result = new OrderedDictionary<string, object?>(map.Entries.Count, StringComparer.Ordinal);
        foreach (var entry in map.Entries)
        {
            // PyYAML would build an int (or bool, float, None) key from `1:`; JSON has only string keys, so the key
            // becomes the text json.dumps would write for it ("1", "true", "null"), keeping Loom's wire output.
            if (entry.KeyText is null)
            {
                diagnostics.Error(entry.Key, path, "a key must be a plain value (a name or a number), not a map or a list");
                continue;
            }
            if (entry.Key is ScalarNode key && !ScalarTyping.TryResolve(key, out _, out string? error))
            {
                // PyYAML cannot build such a key (or Python cannot write it), so Loom would fail as a value would.
                diagnostics.Error(entry.Key, path, $"this key {error}");
                continue;
            }
            result[entry.KeyText] = Convert(entry.Value, KeyPath.Child(path, entry.KeyText));
        }
        return result;
    }
}
