using LoomSched.Config.Validation;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace LoomSched.Config.Yaml;

/// <summary>
/// Builds the <see cref="YamlNode"/> tree from YamlDotNet's event parser (no representation model, no
/// deserializer). Doing it here rather than in YamlStream lets one pass bound hostile input before anything
/// recurses over it: nesting depth, the nodes as written, and the nodes and text that aliases and merge keys
/// repeat (the "billion laughs" bomb) are counted as events arrive, and the load stops at the first excess.
/// It also reports what PyYAML (Loom) rejects or YamlStream hides: duplicate keys with both lines, duplicate
/// anchors, unknown and recursive aliases; and it applies YAML 1.1 merge keys (<c>&lt;&lt;: *defaults</c>).
/// </summary>
internal sealed class YamlTreeReader
{
    public const int MaxDepth = 64;

    // Nodes as written: every key, value, list item and alias counts one. A schedule is 5 to 20 of them (a minimal
    // one, "- {name: s1, interval_seconds: 10, task: {worker_type: w}}", is 9, in 55 bytes): ordinary schedules
    // reach the 8 MiB file limit first, and a file reaches this only when its nodes average under six bytes. With
    // the bound below it keeps a load, tree and values, within a 256 MiB heap whatever the file holds.
    public const long MaxNodes = 1_500_000;

    // Nodes aliases and merge keys add by repeating what they point at. Real sharing of defaults adds a few nodes
    // per schedule; a bomb adds millions from a few lines. Shared nodes are built once (FreeformConverter), so
    // this bounds the time walks take rather than memory.
    public const long MaxRepeatedNodes = 1_000_000;

    // Counting nodes alone misses the other bomb: one long string repeated by a thousand aliases is a few nodes
    // but gigabytes of text once written out (in every message). Four times the largest file is far above what
    // real sharing of defaults needs.
    public const long MaxChars = 4L * ConfigSource.MaxBytes;

    private const string MapTag = "tag:yaml.org,2002:map";
    private const string SeqTag = "tag:yaml.org,2002:seq";

    private readonly Diagnostics _diagnostics;
    private readonly Dictionary<string, YamlNode> _anchors = new(StringComparer.Ordinal); // a node knows where it starts
    private readonly List<Frame> _stack = [];
    private readonly Dictionary<string, string> _shortTexts = new(StringComparer.Ordinal);
    private long _written;
    private long _repeated;
    private long _chars;
    private YamlNode? _root;
    private TextPosition _lastPosition = new(1, 1);
    private readonly string _empty;
    private Scanner? _scanner;

    private YamlTreeReader(Diagnostics diagnostics, string empty)
    {
        _diagnostics = diagnostics;
        _empty = empty;
    }

    /// <summary>
    /// The document's root node, or null when the file cannot be read as one YAML document; <paramref name="empty"/> is
    /// the error for a document that holds nothing (what was expected there).
    /// </summary>
    public static YamlNode? Read(string text, Diagnostics diagnostics, string empty) => new YamlTreeReader(diagnostics, empty).ReadDocument(text);

    private YamlNode? ReadDocument(string text)
    {
        int documents = 0;
        try
        {
            _scanner = new Scanner(new StringReader(text));
            var parser = new Parser(_scanner);
            while (parser.MoveNext())
            {
                var current = parser.Current!;
                _lastPosition = At(current.End);
                bool ok = current switch
                {
                    DocumentStart start when ++documents > 1 => Fatal(At(start.Start), "",
                        "the file holds more than one YAML document (a second starts here); keep a single document"),
                    Scalar scalar => OnScalar(scalar),
                    AnchorAlias alias => OnAlias(alias),
                    MappingStart map => OnCollectionStart(new MapNode(At(map.Start)), map, MapTag, map.Style == MappingStyle.Flow),
                    SequenceStart seq => OnCollectionStart(new SequenceNode(At(seq.Start)), seq, SeqTag, seq.Style == SequenceStyle.Flow),
                    MappingEnd or SequenceEnd => OnCollectionEnd(),
                    _ => true,
                };
                if (!ok)
                {
                    return null;
                }
            }
        }
        catch (YamlException ex)
        {
            // The parser places a tab in the indentation at the start of the block it was scanning (1:1 for the
            // whole file): point at the tab itself.
            var at = ex.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) && FirstIndentingTab(text) is { } tab ? tab : At(ex.Start);
            if (ex.Message.Contains("flow ", StringComparison.Ordinal) && InnermostFlow() is { } open)
            {
                // The parser notices a { or [ left open where the next entry starts, often lines later: point at the
                // bracket, which is where the fix goes.
                FlowLeftOpen(open, at);
                return null;
            }
            Fatal(at, "", $"YAML syntax error: {TrimMessage(ex.Message)}");
            return null;
        }
#pragma warning disable CA1031 // The parser is third-party code fed hostile input; whatever it throws is a config error.
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException)
#pragma warning restore CA1031
        {
            // Not a YamlException: a state the parser does not expect (seen for a { left open before the next key of
            // its block map). Its message is the runtime's, a bare resource key in the published binary: never shown.
            // Events for brackets the scanner has already closed may not have arrived: of the flow collections still
            // open here, only the outermost is surely left open.
            if (_stack.Find(f => f.IsFlow) is { } open)
            {
                FlowLeftOpen(open, _lastPosition);
                return null;
            }
            Fatal(_lastPosition, "",
                "YAML syntax error: the parser stopped after this point; check that every [ and { is closed and every quote ends");
            return null;
        }

        if (_root is null || _root is ScalarNode { IsPlain: true, Tag: null } s && ScalarTyping.TryResolve(s, out object? v, out _) && v is null)
        {
            _diagnostics.Error(new TextPosition(1, 1), "", _empty);
            return null;
        }
        return _root;
    }

    private bool OnScalar(Scalar e)
    {
        // A tagged scalar counts as plain only for the non-specific "!" (a string, as in PyYAML).
        string? tag = e.Tag.IsEmpty ? null : e.Tag.Value;
        bool isPlain = e.Style == ScalarStyle.Plain && tag is null;
        var node = new ScalarNode(EmptyKeyColon(e) ?? At(e.Start), Shared(e.Value), isPlain, tag);
        if (!e.Anchor.IsEmpty)
        {
            DefineAnchor(e.Anchor.Value, node);
        }
        return CountWritten(node.ExpandedChars, node.Start) && Attach(node);
    }

    /// <summary>
    /// An empty key (<c>: value</c>) stands where its colon is: the parser gives its empty scalar a mark left over
    /// from an earlier token, but leaves the colon as the token it looks at next.
    /// </summary>
    private TextPosition? EmptyKeyColon(Scalar e) =>
        e.Value.Length == 0 && e.Style == ScalarStyle.Plain && e.Start.Equals(e.End)
        && _scanner?.Current is YamlDotNet.Core.Tokens.Value colon ? At(colon.Start) : null;

    /// <summary>
    /// One string for each short text that repeats: keys, and values such as a worker type, come once per schedule,
    /// and the parser makes a new string every time. The table stops growing at a few thousand texts.
    /// </summary>
    private string Shared(string text)
    {
        const int MaxLength = 32, MaxTexts = 4096;
        if (text.Length > MaxLength)
        {
            return text;
        }
        if (_shortTexts.TryGetValue(text, out string? shared))
        {
            return shared;
        }
        if (_shortTexts.Count < MaxTexts)
        {
            _shortTexts.Add(text, text);
        }
        return text;
    }

    private bool OnAlias(AnchorAlias e)
    {
        var at = At(e.Start);
        string name = e.Value.Value;
        if (_stack.Exists(f => f.Anchor == name))
        {
            _diagnostics.Error(at, ChildPath(), $"the alias *{name} refers to a node that contains it; a recursive structure cannot become JSON");
            return Attach(new ScalarNode(at, "", isPlain: true, tag: null) { IsPlaceholder = true });
        }
        if (!_anchors.TryGetValue(name, out var anchored))
        {
            _diagnostics.Error(at, ChildPath(), $"unknown alias *{name}: no anchor &{name} is defined before it");
            return Attach(new ScalarNode(at, "", isPlain: true, tag: null) { IsPlaceholder = true });
        }
        if (_stack.Count + anchored.Height > MaxDepth)
        {
            return Fatal(at, ChildPath(), $"the alias *{name} nests its node deeper than {MaxDepth} levels; flatten the structure");
        }
        anchored.IsShared = true;
        return CountWritten(0, at) && CountRepeated(anchored.ExpandedSize, anchored.ExpandedChars, at) && Attach(anchored);
    }

    /// <summary>The innermost collection still open that was written in flow style (<c>{…}</c> or <c>[…]</c>).</summary>
    private Frame? InnermostFlow()
    {
        for (int i = _stack.Count - 1; i >= 0; i--)
        {
            if (_stack[i].IsFlow)
            {
                return _stack[i];
            }
        }
        return null;
    }

    private bool OnCollectionStart(YamlNode node, NodeEvent e, string plainTag, bool flow)
    {
        string path = ChildPath();
        if (!e.Tag.IsEmpty && !e.Tag.IsNonSpecific && e.Tag.Value != plainTag)
        {
            _diagnostics.Error(node.Start, path, ScalarTyping.UnsupportedTag(e.Tag.Value));
        }
        _stack.Add(new Frame(node, path, e.Anchor.IsEmpty ? null : e.Anchor.Value) { IsFlow = flow });
        if (_stack.Count > MaxDepth)
        {
            return Fatal(node.Start, path, $"nesting is deeper than {MaxDepth} levels; flatten the structure");
        }
        return CountWritten(0, node.Start);
    }

    private bool OnCollectionEnd()
    {
        var frame = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        if (frame.Node is MapNode map && !ApplyMerges(frame, map))
        {
            return false;
        }
        ((CollectionNode)frame.Node).Complete();
        if (_stack.Count + frame.Node.Height > MaxDepth)
        {
            return Fatal(frame.Node.Start, frame.Path, $"nesting is deeper than {MaxDepth} levels; flatten the structure");
        }
        if (frame.Anchor is not null)
        {
            DefineAnchor(frame.Anchor, frame.Node);
        }
        return Attach(frame.Node);
    }

    private bool Attach(YamlNode node)
    {
        if (_stack.Count == 0)
        {
            _root ??= node;
            return true;
        }
        var frame = _stack[^1];
        if (frame.Node is SequenceNode seq)
        {
            seq.Items.Add(node);
            return true;
        }
        if (frame.PendingKey is null)
        {
            frame.PendingKey = node;
            return true;
        }
        var key = frame.PendingKey;
        frame.PendingKey = null;
        if (key is ScalarNode { IsPlain: true, Value: "<<" })
        {
            frame.Merges.Add(new MapEntry(key, node, "<<"));
            return true;
        }
        string? keyText = KeyTextOf(key);
        if (keyText is not null)
        {
            if (frame.FirstKeys.TryGetValue(keyText, out var first))
            {
                _diagnostics.Error(key.Start, KeyPath.Child(frame.Path, keyText),
                    $"duplicate key \"{keyText}\"; it is already at line {first.Start.Line}, column {first.Start.Column}: keep one");
                return true;
            }
            frame.FirstKeys.Add(keyText, key);
        }
        ((MapNode)frame.Node).Entries.Add(new MapEntry(key, node, keyText));
        return true;
    }

    /// <summary>
    /// PyYAML's flatten_mapping: merged pairs come first (a list of maps in reverse order), then the map's own;
    /// a later pair wins and keeps the first one's place, so own keys override merged ones.
    /// </summary>
    private bool ApplyMerges(Frame frame, MapNode map)
    {
        if (frame.Merges.Count == 0)
        {
            return true;
        }
        var merged = new List<MapEntry>();
        foreach (var merge in frame.Merges)
        {
            switch (merge.Value)
            {
                case MapNode source:
                    merged.AddRange(source.Entries);
                    break;
                case SequenceNode { Items: var items } when items.TrueForAll(i => i is MapNode):
                    for (int i = items.Count - 1; i >= 0; i--)
                    {
                        merged.AddRange(((MapNode)items[i]).Entries);
                    }
                    break;
                default:
                    _diagnostics.Error(merge.Value.Start, KeyPath.Child(frame.Path, "<<"),
                        "the merge key << takes a map (such as *defaults) or a list of maps");
                    break;
            }
        }
        long added = 0, addedChars = 0;
        foreach (var e in merged)
        {
            e.Key.IsShared = true;
            e.Value.IsShared = true;
            added = Saturating.Add(added, Saturating.Add(e.Key.ExpandedSize, e.Value.ExpandedSize));
            addedChars = Saturating.Add(addedChars, Saturating.Add(e.Key.ExpandedChars, e.Value.ExpandedChars));
        }
        if (!CountRepeated(added, addedChars, frame.Merges[0].Key.Start))
        {
            return false;
        }

        var result = new List<MapEntry>(merged.Count + map.Entries.Count);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in merged.Concat(map.Entries))
        {
            if (e.KeyText is not null && index.TryGetValue(e.KeyText, out int at))
            {
                result[at] = e;
                continue;
            }
            if (e.KeyText is not null)
            {
                index[e.KeyText] = result.Count;
            }
            result.Add(e);
        }
        map.Entries.Clear();
        map.Entries.AddRange(result);
        return true;
    }

    private void DefineAnchor(string name, YamlNode node)
    {
        if (_anchors.TryGetValue(name, out var first))
        {
            _diagnostics.Error(node.Start, ChildPath(),
                $"the anchor &{name} is defined twice (first at line {first.Start.Line}); PyYAML (Loom) rejects that: rename one");
        }
        _anchors[name] = node;
    }

    /// <summary>Counts one node as written, with its text.</summary>
    private bool CountWritten(long chars, TextPosition at)
    {
        if (++_written > MaxNodes)
        {
            return Fatal(at, ChildPath(),
                $"the document has more than {MaxNodes:N0} nodes (keys, values and list items) by here, the most a config may have; split its schedules between two configs, each run by its own scheduler");
        }
        return CountChars(chars, at);
    }

    /// <summary>Counts what an alias or a merge key repeats.</summary>
    private bool CountRepeated(long nodes, long chars, TextPosition at)
    {
        _repeated = Saturating.Add(_repeated, nodes);
        if (_repeated > MaxRepeatedNodes)
        {
            return Fatal(at, ChildPath(),
                $"aliases repeat what they point at, and here the document expands to more than {MaxRepeatedNodes:N0} nodes beyond what is written (an alias bomb?); loading stops");
        }
        return CountChars(chars, at);
    }

    // Written text alone stays far below the bound (the file has at most 8 MiB): only aliases reach it.
    private bool CountChars(long chars, TextPosition at)
    {
        _chars = Saturating.Add(_chars, chars);
        if (_chars > MaxChars)
        {
            return Fatal(at, ChildPath(),
                $"the document expands to more than {MaxChars:N0} characters of text here (aliases repeat what they point at: an alias bomb?); loading stops");
        }
        return true;
    }

    private void FlowLeftOpen(Frame open, TextPosition at)
    {
        var (opened, closer) = open.Node is MapNode ? ("{", "}") : ("[", "]");
        Fatal(open.Node.Start, open.Path,
            $"YAML syntax error in the {opened}...{closer} that opens here: at {at.Line}:{at.Column} the parser expected ',' or '{closer}' (a comma missing between entries, or the {closer} never written)");
    }

    private bool Fatal(TextPosition at, string path, string message)
    {
        _diagnostics.Error(at, path, message);
        return false;
    }

    /// <summary>The key path of the node about to be attached (a map's key shares the map's path).</summary>
    private string ChildPath()
    {
        if (_stack.Count == 0)
        {
            return "";
        }
        var frame = _stack[^1];
        return frame.Node switch
        {
            SequenceNode seq => KeyPath.Index(frame.Path, seq.Items.Count),
            _ when frame.PendingKey is null => frame.Path,
            _ => KeyPath.Child(frame.Path, KeyTextOf(frame.PendingKey) ?? "?"),
        };
    }

    private static string? KeyTextOf(YamlNode key) =>
        key is ScalarNode scalar
            ? ScalarTyping.TryResolve(scalar, out object? value, out _) ? ScalarTyping.JsonKeyText(value) : scalar.Value
            : null;

    /// <summary>Where the first tab stands in a line's indentation (before its first other character), or null.</summary>
    internal static TextPosition? FirstIndentingTab(string text)
    {
        int line = 1, column = 1;
        bool indenting = true;
        foreach (char c in text)
        {
            if (c == '\n')
            {
                (line, column, indenting) = (line + 1, 1, true);
                continue;
            }
            if (indenting && c == '\t')
            {
                return new TextPosition(line, column);
            }
            indenting &= c == ' ';
            column++;
        }
        return null;
    }

    private static TextPosition At(Mark mark) => new((int)Math.Min(mark.Line, int.MaxValue), (int)Math.Min(mark.Column, int.MaxValue));

    private static string TrimMessage(string message) => message.TrimEnd('.', ' ');

    private sealed class Frame(YamlNode node, string path, string? anchor)
    {
        public YamlNode Node { get; } = node;
        public string Path { get; } = path;
        public string? Anchor { get; } = anchor;
        public bool IsFlow { get; init; }
        public YamlNode? PendingKey { get; set; }
        public List<MapEntry> Merges { get; } = [];
        public Dictionary<string, YamlNode> FirstKeys { get; } = new(StringComparer.Ordinal); // each key's first node
    }
}
