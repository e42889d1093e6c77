using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis.Text;

namespace LoomSched.Generators.Yaml;

/// <summary>An <c>expand_from</c> value found in a YAML file: the name and where its token is.</summary>
internal readonly record struct ExpandFromReference(string Name, TextSpan Span, LinePositionSpan LineSpan);

/// <summary>
/// Finds <c>expand_from</c> values in YAML text without a YAML library (an analyzer cannot load YamlDotNet).
/// </summary>
/// <remarks>
/// A small, tolerant, line-oriented scanner: it follows block mappings and sequences by indentation, flow
/// collections (<c>{..}</c>, <c>[..]</c>, across lines too), plain and quoted scalars, comments, tags and anchors,
/// block scalars and document markers. It does not validate anything; whatever it cannot read is skipped, never
/// thrown. <c>expand_from</c> keys inside the free-form maps (<c>context</c>, <c>payload</c>, <c>expand_args</c>)
/// are data, not references, and are ignored.
/// </remarks>
internal sealed class ExpandFromScanner
{
    public const string Key = "expand_from";

    private static readonly HashSet<string> FreeFormKeys = new(StringComparer.Ordinal) { "context", "payload", "expand_args" };

    private readonly SourceText _text;
    private readonly ImmutableArray<ExpandFromReference>.Builder _found = ImmutableArray.CreateBuilder<ExpandFromReference>();

    // Block mappings entered so far: the key and the column it stands at.
    private readonly List<(int Column, string Key)> _block = new();

    // Open flow collections; non-empty while a flow collection spans lines.
    private readonly List<FlowFrame> _flow = new();
    private bool _flowBaseIsFreeForm;

    // Lines more indented than this belong to a block scalar (| or >) and are skipped; -1 when none is open.
    private int _blockScalarParentColumn = -1;

    // The quote of a quoted scalar that continues on the next line; '\0' when none is open.
    private char _openQuote;

    private int _lineNumber;
    private int _lineStart;

    private ExpandFromScanner(SourceText text) => _text = text;

    public static ImmutableArray<ExpandFromReference> Scan(SourceText text, CancellationToken cancellationToken = default)
    {
        var scanner = new ExpandFromScanner(text);
        foreach (var line in text.Lines)
        {
            cancellationToken.ThrowIfCancellationRequested();
            scanner._lineNumber = line.LineNumber;
            scanner._lineStart = line.Start;
            scanner.ScanLine(text.ToString(line.Span));
        }
        return scanner._found.ToImmutable();
    }

    public static ImmutableArray<ExpandFromReference> Scan(string text) => Scan(SourceText.From(text));

    private void ScanLine(string line)
    {
        var pos = 0;
        if (_openQuote != '\0')
        {
            pos = SkipQuoted(line, 0, _openQuote);
            if (pos < 0)
            {
                return; // still inside the quoted scalar
            }
            _openQuote = '\0';
            if (_flow.Count == 0)
            {
                return; // the rest of a block line after a multi-line scalar holds at most a comment
            }
        }
        if (_flow.Count > 0)
        {
            ScanFlow(line, pos);
            return;
        }

        var indent = SkipSpaces(line, 0);
        if (indent >= line.Length)
        {
            return;
        }
        if (_blockScalarParentColumn >= 0)
        {
            if (indent > _blockScalarParentColumn)
            {
                return;
            }
            _blockScalarParentColumn = -1;
        }
        if (line[indent] == '#' || (indent == 0 && line[0] == '%'))
        {
            return;
        }
        if (indent == 0 && (IsMarker(line, "---") || IsMarker(line, "...")))
        {
            _block.Clear();
            return;
        }

        pos = indent;
        while (pos < line.Length && line[pos] == '-' && (pos + 1 == line.Length || IsSpace(line[pos + 1])))
        {
            pos = SkipSpaces(line, pos + 1);
        }
        if (pos >= line.Length || line[pos] == '#' || line[pos] == '?')
        {
            return;
        }

        // A node at column c closes every mapping entered at column c or right of it.
        _block.RemoveAll(entry => entry.Column >= pos);

        if (line[pos] is '{' or '[')
        {
            StartFlow(line, pos, keyOfFlow: null);
            return;
        }
        if (!TryReadBlockKey(line, pos, out var key, out var afterColon))
        {
            if (line[pos] is '"' or '\'' && SkipQuoted(line, pos + 1, line[pos]) < 0)
            {
                _openQuote = line[pos];
            }
            return;
        }

        var valuePos = SkipPropertiesAndSpaces(line, SkipSpaces(line, afterColon));
        if (valuePos >= line.Length || line[valuePos] == '#')
        {
            _block.Add((pos, key)); // the value is a nested block on the next lines
            return;
        }
        switch (line[valuePos])
        {
            case '|':
            case '>':
                _blockScalarParentColumn = pos;
                return;
            case '{':
            case '[':
                StartFlow(line, valuePos, key);
                return;
        }

        var scalar = ReadScalar(line, valuePos, inFlow: false);
        if (scalar.Unclosed)
        {
            _openQuote = line[valuePos];
            return;
        }
        if (key == Key && !IsFreeForm(_block))
        {
            Record(scalar);
        }
    }

    private void StartFlow(string line, int pos, string? keyOfFlow)
    {
        _flowBaseIsFreeForm = IsFreeForm(_block) || (keyOfFlow is not null && FreeFormKeys.Contains(keyOfFlow));
        _flow.Clear();
        ScanFlow(line, pos);
    }

    private void ScanFlow(string line, int pos)
    {
        while (pos < line.Length)
        {
            var c = line[pos];
            if (IsSpace(c))
            {
                pos++;
                continue;
            }
            if (c == '#' && (pos == 0 || IsSpace(line[pos - 1])))
            {
                return;
            }
            if (c is '{' or '[')
            {
                var parent = _flow.Count > 0 ? _flow[_flow.Count - 1] : null;
                _flow.Add(new FlowFrame(c == '{', parent is { IsMap: true, AfterColon: true } ? parent.Key : null));
                pos++;
                continue;
            }
            if (c is '}' or ']')
            {
                if (_flow.Count > 0)
                {
                    _flow.RemoveAt(_flow.Count - 1);
                }
                pos++;
                if (_flow.Count == 0)
                {
                    return; // back in block context: what follows on the line is at most a comment
                }
                continue;
            }
            if (_flow.Count == 0)
            {
                return;
            }
            var frame = _flow[_flow.Count - 1];
            if (c == ',')
            {
                frame.Key = null;
                frame.AfterColon = false;
                pos++;
                continue;
            }
            if (c == ':')
            {
                frame.AfterColon = true;
                pos++;
                continue;
            }
            if (c is '!' or '&')
            {
                pos = SkipToken(line, pos);
                continue;
            }

            var scalar = ReadScalar(line, pos, inFlow: true);
            if (scalar.Unclosed)
            {
                _openQuote = c;
                return;
            }
            pos = Math.Max(scalar.End, pos + 1);
            if (!frame.IsMap)
            {
                continue;
            }
            if (!frame.AfterColon)
            {
                var next = SkipSpaces(line, pos);
                if (next < line.Length && line[next] == ':')
                {
                    frame.Key = scalar.Value;
                    frame.AfterColon = true;
                    pos = next + 1;
                }
                continue;
            }
            if (frame.Key == Key && !IsFlowFreeForm())
            {
                Record(scalar);
            }
        }
    }

    private void Record(Scalar scalar)
    {
        if (scalar.Value is null)
        {
            return; // null, an alias, or nothing readable
        }
        var start = new LinePosition(_lineNumber, scalar.Start);
        var end = new LinePosition(_lineNumber, scalar.End);
        _found.Add(new ExpandFromReference(
            scalar.Value,
            TextSpan.FromBounds(_lineStart + scalar.Start, _lineStart + scalar.End),
            new LinePositionSpan(start, end)));
    }

    private bool IsFlowFreeForm()
    {
        if (_flowBaseIsFreeForm)
        {
            return true;
        }
        foreach (var frame in _flow)
        {
            if (frame.ParentKey is not null && FreeFormKeys.Contains(frame.ParentKey))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsFreeForm(List<(int Column, string Key)> path)
    {
        foreach (var entry in path)
        {
            if (FreeFormKeys.Contains(entry.Key))
            {
                return true;
            }
        }
        return false;
    }

    private static bool TryReadBlockKey(string line, int pos, out string key, out int afterColon)
    {
        key = "";
        afterColon = 0;
        if (line[pos] is '"' or '\'')
        {
            var quoted = ReadScalar(line, pos, inFlow: false);
            if (quoted.Unclosed || quoted.Value is null)
            {
                return false;
            }
            var colon = SkipSpaces(line, quoted.End);
            if (colon >= line.Length || line[colon] != ':')
            {
                return false;
            }
            key = quoted.Value;
            afterColon = colon + 1;
            return true;
        }
        if ("[]{},#&*!|>%@`".IndexOf(line[pos]) >= 0)
        {
            return false;
        }
        for (var i = pos; i < line.Length; i++)
        {
            if (line[i] == ':' && (i + 1 == line.Length || IsSpace(line[i + 1])))
            {
                key = line.Substring(pos, i - pos).TrimEnd();
                afterColon = i + 1;
                return true;
            }
            if (line[i] == '#' && IsSpace(line[i - 1]))
            {
                return false;
            }
        }
        return false;
    }

    /// <summary>Reads a quoted or plain scalar starting at <paramref name="pos"/>.</summary>
    private static Scalar ReadScalar(string line, int pos, bool inFlow)
    {
        var c = line[pos];
        if (c is '"' or '\'')
        {
            var end = SkipQuoted(line, pos + 1, c);
            if (end < 0)
            {
                return new Scalar(null, pos, line.Length, Unclosed: true);
            }
            return new Scalar(Unquote(line.Substring(pos + 1, end - pos - 2), c), pos, end, Unclosed: false);
        }

        var i = pos;
        while (i < line.Length)
        {
            var ch = line[i];
            if (ch == '#' && i > pos && IsSpace(line[i - 1]))
            {
                break;
            }
            if (inFlow && ch is ',' or '[' or ']' or '{' or '}')
            {
                break;
            }
            if (ch == ':' && i > pos && (i + 1 == line.Length || IsSpace(line[i + 1]) || (inFlow && ",[]{}".IndexOf(line[i + 1]) >= 0)))
            {
                break;
            }
            i++;
        }
        var end2 = i;
        while (end2 > pos && IsSpace(line[end2 - 1]))
        {
            end2--;
        }
        var value = line.Substring(pos, end2 - pos);
        var isNull = value is "" or "~" or "null" or "Null" or "NULL" || value[0] == '*';
        return new Scalar(isNull ? null : value, pos, Math.Max(end2, pos + 1), Unclosed: false);
    }

    /// <summary>The index just past the closing quote, or -1 when the line ends first.</summary>
    private static int SkipQuoted(string line, int pos, char quote)
    {
        for (var i = pos; i < line.Length; i++)
        {
            if (quote == '"' && line[i] == '\\')
            {
                i++;
                continue;
            }
            if (line[i] == quote)
            {
                if (quote == '\'' && i + 1 < line.Length && line[i + 1] == '\'')
                {
                    i++;
                    continue;
                }
                return i + 1;
            }
        }
        return -1;
    }

    private static string Unquote(string content, char quote)
    {
        if (quote == '\'')
        {
            return content.Replace("''", "'");
        }
        var builder = new StringBuilder(content.Length);
        for (var i = 0; i < content.Length; i++)
        {
            if (content[i] == '\\' && i + 1 < content.Length)
            {
                i++;
                builder.Append(content[i] switch { 'n' => '\n', 't' => '\t', '0' => '\0', _ => content[i] });
                continue;
            }
            builder.Append(content[i]);
        }
        return builder.ToString();
    }

    /// <summary>Skips tags (<c>!!str</c>) and anchors (<c>&amp;a</c>) in front of a value.</summary>
    private static int SkipPropertiesAndSpaces(string line, int pos)
    {
        while (pos < line.Length && line[pos] is '!' or '&')
        {
            pos = SkipSpaces(line, SkipToken(line, pos));
        }
        return pos;
    }

    private static int SkipToken(string line, int pos)
    {
        while (pos < line.Length && !IsSpace(line[pos]) && ",[]{}".IndexOf(line[pos]) < 0)
        {
            pos++;
        }
        return pos;
    }

    private static int SkipSpaces(string line, int pos)
    {
        while (pos < line.Length && IsSpace(line[pos]))
        {
            pos++;
        }
        return pos;
    }

    private static bool IsSpace(char c) => c is ' ' or '\t';

    private static bool IsMarker(string line, string marker) =>
        line.StartsWith(marker, StringComparison.Ordinal) && (line.Length == marker.Length || IsSpace(line[marker.Length]));

    private readonly record struct Scalar(string? Value, int Start, int End, bool Unclosed);

    private sealed class FlowFrame(bool isMap, string? parentKey)
    {
        public bool IsMap { get; } = isMap;
        public string? ParentKey { get; } = parentKey;
        public string? Key { get; set; }
        public bool AfterColon { get; set; }
    }
}
