using LoomSched.Config.Yaml;

namespace LoomSched.Config.Validation;

/// <summary>
/// A map whose keys are fixed by the schema: every unknown key is reported (with a "did you mean" among the keys
/// allowed at that level, or a pointer to where the key belongs), and values are looked up by key. In the maps Loom
/// reads too (the top level, an entry, goal, task), where Loom ignores unknown keys, an unknown key is a note: a
/// name, or a number, boolean or null (which PyYAML makes of <c>1:</c>, <c>yes:</c>, <c>~:</c>).
/// </summary>
internal sealed class StrictMap
{
    private StrictMap(MapNode node, string path)
    {
        Node = node;
        Path = path;
    }

    public MapNode Node { get; }

    public string Path { get; }

    /// <summary>
    /// Opens a node as a strict map; reports and returns null when it is not a map. <c>expected</c> names the map for
    /// the type error; <c>placement</c> says where a key of another level belongs (<c>instruction</c> → "under goal:");
    /// <c>loomIgnoresUnknown</c>: a map Loom reads too, whose unknown keys are notes.
    /// </summary>
    public static StrictMap? Open(
        YamlNode node, string path, string expected, IReadOnlyList<string> allowed, Diagnostics diagnostics,
        Func<string, string?>? placement = null, bool loomIgnoresUnknown = false)
    {
        if (node is not MapNode map)
        {
            diagnostics.Error(node, path, $"must be {expected}, got {FieldReader.Actual(node)}");
            return null;
        }
        foreach (var entry in map.Entries)
        {
            if (entry.KeyText is null)
            {
                diagnostics.Error(entry.Key, path, $"a key must be a plain name, not {FieldReader.Actual(entry.Key)}");
            }
            else if (!allowed.Contains(entry.KeyText))
            {
                if (loomIgnoresUnknown && NotAName(entry.Key) is { } typed)
                {
                    // PyYAML builds a number, boolean or null key, which Loom's reads by name never meet: ignored too.
                    string written = ((ScalarNode)entry.Key).Value;
                    diagnostics.Note(entry.Key, KeyPath.Child(path, written),
                        $"{(written.Length == 0 ? "an empty key" : $"key {written}")} is {typed} to PyYAML, not a name: ignored as Loom ignores it; expected one of {string.Join(", ", allowed)}");
                }
                else if (loomIgnoresUnknown && IsName(entry.Key))
                {
                    diagnostics.Note(entry.Key, KeyPath.Child(path, entry.KeyText),
                        UnknownKey(entry.KeyText, allowed, placement, ", ignored as Loom ignores it"));
                }
                else
                {
                    diagnostics.Error(entry.Key, KeyPath.Child(path, entry.KeyText), UnknownKey(entry.KeyText, allowed, placement));
                }
            }
        }
        return new StrictMap(map, path);
    }

    public MapEntry? Entry(string key) => Node.Find(key);

    public YamlNode? Value(string key) => Node.Find(key)?.Value;

    public bool Has(string key) => Node.Find(key) is not null;

    public string PathOf(string key) => KeyPath.Child(Path, key);

    /// <summary>Reports a missing required key at the map that lacks it.</summary>
    public void Missing(string key, string what, Diagnostics diagnostics) =>
        diagnostics.Error(Node, PathOf(key), $"missing required key \"{key}\" ({what})");

    private static string UnknownKey(string key, IReadOnlyList<string> allowed, Func<string, string?>? placement, string ignored = "")
    {
        if (DidYouMean.Nearest(key, allowed) is { } near)
        {
            return $"unknown key \"{key}\"{ignored}; did you mean \"{near}\"?";
        }
        if (placement?.Invoke(key) is { } where)
        {
            return $"unknown key \"{key}\" here{ignored}; it belongs {where}";
        }
        return $"unknown key \"{key}\"{ignored}; expected one of {string.Join(", ", allowed)}";
    }

    // A key PyYAML reads as text: a misspelt or foreign name. A null, boolean or number key is no name at all.
    private static bool IsName(YamlNode key) =>
        key is ScalarNode scalar && ScalarTyping.TryResolve(scalar, out object? value, out _) && value is string;

    /// <summary>What PyYAML makes of a null, boolean or number key ("the number 1"); null for a name or anything else.</summary>
    internal static string? NotAName(YamlNode key) =>
        key is ScalarNode scalar && ScalarTyping.TryResolve(scalar, out object? value, out _) && value is null or bool or long or double or System.Numerics.BigInteger
            ? ScalarTyping.DescribeValue(value)
            : null;
}
