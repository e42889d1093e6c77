using System.Text.RegularExpressions;

namespace LoomSched.Tests.Fuzz;

/// <summary>
/// The contract every message a user sees keeps, whatever the input: one line, no raw control characters, nothing of
/// the runtime's (an exception's type name, a resource key such as <c>Arg_InvalidOperationException</c>, which the
/// published binary shows in place of an exception's message, a stack frame) unless the input itself holds that text.
/// Written apart from the code under test, which it judges.
/// </summary>
public static partial class Oracle
{
    /// <summary>What is wrong with one line of output, or null when it keeps the contract.</summary>
    public static string? LineProblem(string line, string input)
    {
        foreach (char c in line)
        {
            if (IsRaw(c))
            {
                return $"a raw U+{(int)c:X4} in the line";
            }
        }
        foreach (Match m in RuntimeText().Matches(line))
        {
            if (!input.Contains(m.Value.Trim(), StringComparison.Ordinal))
            {
                return $"runtime text \"{m.Value}\" that the input does not hold";
            }
        }
        return null;
    }

    /// <summary>Text as a C# string literal's body: a failing case's input, ready to become a regression row.</summary>
    public static string Visible(string text)
    {
        var sb = new System.Text.StringBuilder();
        foreach (char c in text)
        {
            _ = c switch
            {
                '\n' => sb.Append("\\n"),
                '\\' => sb.Append("\\\\"),
                '"' => sb.Append("\\\""),
                _ when IsRaw(c) || char.IsSurrogate(c) => sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => sb.Append(c),
            };
        }
        return sb.ToString();
    }

    /// <summary>A character a message must escape: control characters, line and paragraph separators, bidi controls.</summary>
    public static bool IsRaw(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' or '\u200e' or '\u200f' or '\u061c'
        || c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069' or '\u200b' or '\ufeff';

    // Exception type names, the runtime's resource keys (Arg_…, IO_…, InvalidOperation_…, net_…) and stack frames.
    [GeneratedRegex(@"\b\w*Exception\b|\b(?:Arg|Argument|ArgumentOutOfRange|InvalidOperation|IO|Format|Overflow|NotSupported|UnauthorizedAccess|ObjectDisposed|Arithmetic|InvalidCast|Serialization|Globalization|Security|Cryptography|Interop|Collection|Text|Threading)_\w+|\bnet_[a-z]\w*|^\s+at \S|   at ")]
    private static partial Regex RuntimeText();
}
