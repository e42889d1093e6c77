namespace LoomSched.Config.Yaml;

/// <summary>A 1-based line and column in the config text.</summary>
internal readonly record struct TextPosition(int Line, int Column);

/// <summary>
/// The loader's own YAML tree, built from parser events. Aliases are resolved to the anchored node (shared,
/// never copied) and merge keys are applied, so every later walk sees plain maps, lists and scalars.
/// </summary>
/// <remarks>
/// A config of 100,000 schedules is about a million nodes, all held while it loads: scalars, the most numerous,
/// store no counts (theirs follow from their text).
/// </remarks>
internal abstract class YamlNode(TextPosition start)
{
    public TextPosition Start { get; } = start;

    /// <summary>Nesting of collections below and including this node (0 for a scalar).</summary>
    public abstract int Height { get; }

    /// <summary>How many nodes a walk visits when it expands every alias below this node.</summary>
    public abstract long ExpandedSize { get; }

    /// <summary>How many scalar characters a walk reads when it expands every alias below this node.</summary>
    public abstract long ExpandedChars { get; }

    /// <summary>True when an alias or a merge key makes the node appear in more than one place.</summary>
    public bool IsShared { get; set; }
}

internal sealed class ScalarNode : YamlNode
{
    public ScalarNode(TextPosition start, string value, bool isPlain, string? tag)
        : base(start)
    {
        Value = value;
        IsPlain = isPlain;
        Tag = tag;
    }

    public override int Height => 0;

    public override long ExpandedSize => 1;

    public override long ExpandedChars => Value.Length;

    public string Value { get; }

    /// <summary>Plain (unquoted, untagged): only these are typed by YAML 1.1's implicit rules.</summary>
    public bool IsPlain { get; }

    /// <summary>The explicit tag in full form (<c>tag:yaml.org,2002:str</c>), <c>!</c>, or null.</summary>
    public string? Tag { get; }

    /// <summary>
    /// Stands in for a node that could not be built (an unknown alias): already reported, so checks of its value
    /// stay silent instead of adding a second, misleading error.
    /// </summary>
    public bool IsPlaceholder { get; init; }
}

internal sealed record MapEntry(YamlNode Key, YamlNode Value, string? KeyText);

/// <summary>A map or a list: its counts are taken once, when the parser reaches its end.</summary>
internal abstract class CollectionNode(TextPosition start) : YamlNode(start)
{
    private int _height;
    private long _size = 1, _chars;

    public override int Height => _height;

    public override long ExpandedSize => _size;

    public override long ExpandedChars => _chars;

    public void Complete()
    {
        (_height, _size, _chars) = (1, 1, 0);
        CountChildren();
    }

    /// <summary>Calls <see cref="Count"/> for every child.</summary>
    protected abstract void CountChildren();

    protected void Count(YamlNode child)
    {
        _height = Math.Max(_height, child.Height + 1);
        _size = Saturating.Add(_size, child.ExpandedSize);
        _chars = Saturating.Add(_chars, child.ExpandedChars);
    }
}

internal sealed class MapNode(TextPosition start) : CollectionNode(start)
{
    public List<MapEntry> Entries { get; } = [];

    public MapEntry? Find(string key)
    {
        foreach (var e in Entries)
        {
            if (e.KeyText == key)
            {
                return e;
            }
        }
        return null;
    }

    protected override void CountChildren()
    {
        foreach (var e in Entries)
        {
            Count(e.Key);
            Count(e.Value);
        }
    }
}

internal sealed class SequenceNode(TextPosition start) : CollectionNode(start)
{
    public List<YamlNode> Items { get; } = [];

    protected override void CountChildren()
    {
        foreach (var item in Items)
        {
            Count(item);
        }
    }
}

internal static class Saturating
{
    public static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}
