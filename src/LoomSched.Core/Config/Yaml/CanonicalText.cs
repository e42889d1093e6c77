using System.Globalization;

namespace LoomSched.Config.Yaml;

/// <summary>
/// A canonical dump of a (valid) subtree: aliases and merges resolved, key order kept, scalars written by their
/// YAML 1.1 type so that <c>30</c>, <c>30.0</c> and <c>"30"</c> differ while quoting style and comments do not.
/// It is written into a <see cref="CanonicalHash"/>, never held as text.
/// </summary>
internal static class CanonicalText
{
    public static void Write(YamlNode node, CanonicalHash sb)
    {
        switch (node)
        {
            case ScalarNode scalar:
                WriteScalar(scalar, sb);
                break;
            case SequenceNode seq:
                sb.Append('[');
                for (int i = 0; i < seq.Items.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }
                    Write(seq.Items[i], sb);
                }
                sb.Append(']');
                break;
            case MapNode map:
                sb.Append('{');
                for (int i = 0; i < map.Entries.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }
                    var entry = map.Entries[i];
                    if (entry.KeyText is not null)
                    {
                        WriteString(entry.KeyText, sb);
                    }
                    else
                    {
                        Write(entry.Key, sb);
                    }
                    sb.Append(':');
                    Write(entry.Value, sb);
                }
                sb.Append('}');
                break;
        }
    }

    private static void WriteScalar(ScalarNode scalar, CanonicalHash sb)
    {
        if (!ScalarTyping.TryResolve(scalar, out object? value, out _))
        {
            sb.Append("!invalid:");
            WriteString(scalar.Value, sb);
            return;
        }
        switch (value)
        {
            case null:
                sb.Append("null");
                break;
            case string s:
                WriteString(s, sb);
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case long l:
                sb.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case System.Numerics.BigInteger n:
                sb.Append(PythonInt.Digits(n));
                break;
            case double d:
                // Always with a point or an exponent, so a float never reads as the int of the same value.
                sb.Append(PythonFloat.Repr(d));
                break;
        }
    }

    private static void WriteString(string s, CanonicalHash sb)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case < ' ':
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
