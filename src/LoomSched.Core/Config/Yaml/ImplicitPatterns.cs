namespace LoomSched.Config.Yaml;

/// <summary>
/// The int, float and timestamp patterns of PyYAML's implicit resolvers (resolver.py), as hand-written matchers
/// rather than regular expressions: a regex here would link the whole System.Text.RegularExpressions engine into
/// the binary. Each method accepts exactly the strings its regex matches in full, alternative by alternative (the
/// comment above each quotes it), except that it never accepts a trailing line break where <c>$</c> would: a plain
/// scalar cannot end with one, and a tagged scalar must not be parsed as if it did not. ASCII digits only.
/// </summary>
internal static class ImplicitPatterns
{
    /// <summary>
    /// <c>[-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+</c>
    /// </summary>
    public static bool IsInt(ReadOnlySpan<char> s)
    {
        s = WithoutSign(s);
        if (s.Length == 0)
        {
            return false;
        }
        if (s[0] == '0')
        {
            if (s.Length == 1)
            {
                return true;
            }
            return s[1] switch
            {
                'b' => s.Length > 2 && AllOf(s[2..], static c => c is '0' or '1' or '_'),
                'x' => s.Length > 2 && AllOf(s[2..], static c => char.IsAsciiHexDigit(c) || c == '_'),
                _ => AllOf(s[1..], static c => c is >= '0' and <= '7' or '_'),
            };
        }
        if (!IsNonZeroDigit(s[0]))
        {
            return false;
        }
        int i = 1 + RunOf(s[1..], IsDigitOrUnderscore);
        if (i == s.Length)
        {
            return true;
        }
        // Base 60: "190:20:30".
        return SexagesimalGroups(s, ref i) && i == s.Length;
    }

    /// <summary>
    /// <c>[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)? | \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    /// | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)</c>
    /// </summary>
    public static bool IsFloat(ReadOnlySpan<char> s)
    {
        if (s.Length == 0)
        {
            return false;
        }
        if (s[0] == '.')
        {
            // Unsigned: ".5", ".5e+3", ".inf", ".nan".
            return s[1..] is "inf" or "Inf" or "INF" or "nan" or "NaN" or "NAN" || IsUnsignedFraction(s);
        }
        var unsigned = WithoutSign(s);
        if (unsigned.Length == 0)
        {
            return false;
        }
        if (unsigned[0] == '.')
        {
            // Signed: only the infinities ("-.5" and "+.nan" are strings to PyYAML).
            return unsigned[1..] is "inf" or "Inf" or "INF";
        }
        if (!char.IsAsciiDigit(unsigned[0]))
        {
            return false;
        }
        int i = 1 + RunOf(unsigned[1..], IsDigitOrUnderscore);
        if (i < unsigned.Length && unsigned[i] == ':')
        {
            // Base 60 with a fraction: "190:20:30.15" (no exponent).
            return SexagesimalGroups(unsigned, ref i)
                && i < unsigned.Length && unsigned[i] == '.'
                && AllOf(unsigned[(i + 1)..], IsDigitOrUnderscore);
        }
        return i < unsigned.Length && unsigned[i] == '.' && IsFractionAndExponent(unsigned[(i + 1)..]);
    }

    /// <summary>
    /// <c>[0-9]{4}-[0-9]{2}-[0-9]{2} | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?</c>
    /// </summary>
    public static bool IsTimestamp(ReadOnlySpan<char> s)
    {
        // The year, then a month and a day of one or two digits each.
        if (s.Length < 8 || !AllOf(s[..4], char.IsAsciiDigit) || s[4] != '-')
        {
            return false;
        }
        int i = 5;
        int month = Digits(s, ref i, 2);
        if (month == 0 || i >= s.Length || s[i] != '-')
        {
            return false;
        }
        i++;
        int day = Digits(s, ref i, 2);
        if (day == 0)
        {
            return false;
        }
        if (i == s.Length)
        {
            // A date alone needs two-digit month and day.
            return month == 2 && day == 2;
        }

        // The separator: one T or t, or a run of blanks.
        if (s[i] is 'T' or 't')
        {
            i++;
        }
        else
        {
            int blanks = RunOf(s[i..], IsBlank);
            if (blanks == 0)
            {
                return false;
            }
            i += blanks;
        }

        // The time: h:mm:ss or hh:mm:ss, then an optional fraction of any number of digits.
        if (Digits(s, ref i, 2) == 0 || !Colon(s, ref i) || Digits(s, ref i, 2) != 2 || !Colon(s, ref i) || Digits(s, ref i, 2) != 2)
        {
            return false;
        }
        if (i < s.Length && s[i] == '.')
        {
            i++;
            i += RunOf(s[i..], char.IsAsciiDigit);
        }
        if (i == s.Length)
        {
            return true;
        }

        // The zone, after optional blanks: Z, or a sign, one or two digits of hours and optional :mm.
        i += RunOf(s[i..], IsBlank);
        if (i == s.Length)
        {
            return false;
        }
        if (s[i] == 'Z')
        {
            return i + 1 == s.Length;
        }
        if (s[i] is not ('-' or '+'))
        {
            return false;
        }
        i++;
        if (Digits(s, ref i, 2) == 0)
        {
            return false;
        }
        return i == s.Length || (Colon(s, ref i) && Digits(s, ref i, 2) == 2 && i == s.Length);
    }

    // "(?::[0-5]?[0-9])+" from s[i], which must be a colon: each group is one digit, or two whose first is 0-5.
    // The digits of a group end at the next colon or at what follows the groups, so there is nothing to backtrack.
    private static bool SexagesimalGroups(ReadOnlySpan<char> s, ref int i)
    {
        if (i >= s.Length || s[i] != ':')
        {
            return false;
        }
        while (i < s.Length && s[i] == ':')
        {
            i++;
            int run = RunOf(s[i..], char.IsAsciiDigit);
            if (run == 0 || run > 2 || (run == 2 && s[i] > '5'))
            {
                return false;
            }
            i += run;
        }
        return true;
    }

    // "\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?": a fraction with no integer part needs a digit first.
    private static bool IsUnsignedFraction(ReadOnlySpan<char> s) =>
        s.Length > 1 && char.IsAsciiDigit(s[1]) && IsFractionAndExponent(s[1..]);

    // "[0-9_]*(?:[eE][-+][0-9]+)?" to the end: what follows the decimal point.
    private static bool IsFractionAndExponent(ReadOnlySpan<char> s)
    {
        int i = RunOf(s, IsDigitOrUnderscore);
        if (i == s.Length)
        {
            return true;
        }
        if (s[i] is not ('e' or 'E'))
        {
            return false;
        }
        // The exponent's sign is required: "1.0e3" is a string to PyYAML.
        var exponent = s[(i + 1)..];
        return exponent.Length >= 2 && (exponent[0] is '-' or '+') && AllOf(exponent[1..], char.IsAsciiDigit);
    }

    private static ReadOnlySpan<char> WithoutSign(ReadOnlySpan<char> s) => s.Length > 0 && s[0] is '-' or '+' ? s[1..] : s;

    // Reads up to max digits at s[i], returning how many it read.
    private static int Digits(ReadOnlySpan<char> s, ref int i, int max)
    {
        int n = 0;
        while (n < max && i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
            n++;
        }
        return n;
    }

    private static bool Colon(ReadOnlySpan<char> s, ref int i)
    {
        if (i < s.Length && s[i] == ':')
        {
            i++;
            return true;
        }
        return false;
    }

    private static int RunOf(ReadOnlySpan<char> s, Func<char, bool> member)
    {
        int i = 0;
        while (i < s.Length && member(s[i]))
        {
            i++;
        }
        return i;
    }

    private static bool AllOf(ReadOnlySpan<char> s, Func<char, bool> member) => RunOf(s, member) == s.Length;

    private static bool IsNonZeroDigit(char c) => c is >= '1' and <= '9';

    private static bool IsDigitOrUnderscore(char c) => char.IsAsciiDigit(c) || c == '_';

    private static bool IsBlank(char c) => c is ' ' or '\t';
}
