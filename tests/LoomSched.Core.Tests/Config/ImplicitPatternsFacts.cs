using System.Text;
using System.Text.RegularExpressions;
using LoomSched.Config.Validation;
using LoomSched.Config.Yaml;

namespace LoomSched.Core.Tests.Config;

/// <summary>
/// The hand-written matchers accept exactly what PyYAML's implicit resolvers (resolver.py) and the name patterns
/// accept: tables of the edge cases, and a comparison with the original regular expressions on random strings.
/// </summary>
public sealed class ImplicitPatternsFacts
{
    // ---- int ----

    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("+0")]
    [InlineData("7")]
    [InlineData("1_000")]
    [InlineData("1__0_")]
    [InlineData("-42")]
    [InlineData("017")]
    [InlineData("00")]
    [InlineData("0_")]
    [InlineData("0__7")]
    [InlineData("-017")]
    [InlineData("0b101")]
    [InlineData("0b_1")]
    [InlineData("+0b0")]
    [InlineData("0x1F")]
    [InlineData("0xdead_BEEF")]
    [InlineData("-0x_")]
    [InlineData("1:30")]
    [InlineData("190:20:30")]
    [InlineData("1_9:5:59")]
    [InlineData("-1:0")]
    [InlineData("1:05")]
    public void Int_pattern_accepts(string text) => Assert.True(ImplicitPatterns.IsInt(text));

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("_1")]
    [InlineData("-_1")]
    [InlineData("08")]
    [InlineData("09")]
    [InlineData("0o17")]
    [InlineData("0b")]
    [InlineData("0b2")]
    [InlineData("0B1")]
    [InlineData("0x")]
    [InlineData("0X1F")]
    [InlineData("0xG")]
    [InlineData("1e3")]
    [InlineData("1.0")]
    [InlineData("0:30")]
    [InlineData("09:30")]
    [InlineData("1:60")]
    [InlineData("1:123")]
    [InlineData("1:")]
    [InlineData("1::2")]
    [InlineData("1:3_0")]
    [InlineData("1 ")]
    [InlineData(" 1")]
    [InlineData("12\n")]
    [InlineData("١٢")]
    [InlineData("--1")]
    public void Int_pattern_refuses(string text) => Assert.False(ImplicitPatterns.IsInt(text));

    // ---- float ----

    [Theory]
    [InlineData("1.5")]
    [InlineData("-1.5")]
    [InlineData("+1.5")]
    [InlineData("1.")]
    [InlineData("1_.")]
    [InlineData("0.")]
    [InlineData("1._")]
    [InlineData("1_000.5_5")]
    [InlineData("1.0e+3")]
    [InlineData("1.5E-2")]
    [InlineData("1.e+5")]
    [InlineData(".5")]
    [InlineData(".5_")]
    [InlineData(".5e-3")]
    [InlineData("1:30.5")]
    [InlineData("190:20:30.15")]
    [InlineData("-1:30.")]
    [InlineData("0:30.")]
    [InlineData("1:30._")]
    [InlineData(".inf")]
    [InlineData(".Inf")]
    [InlineData(".INF")]
    [InlineData("-.inf")]
    [InlineData("+.INF")]
    [InlineData(".nan")]
    [InlineData(".NaN")]
    [InlineData(".NAN")]
    public void Float_pattern_accepts(string text) => Assert.True(ImplicitPatterns.IsFloat(text));

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("-.")]
    [InlineData("1")]
    [InlineData("1e3")]
    [InlineData("1.0e3")]
    [InlineData("1.0e+")]
    [InlineData("1.0e+3.0")]
    [InlineData("1.0e+_3")]
    [InlineData("-.5")]
    [InlineData("+.5")]
    [InlineData("._5")]
    [InlineData("_1.5")]
    [InlineData(".5.5")]
    [InlineData("1.5.")]
    [InlineData(".inF")]
    [InlineData(".Nan")]
    [InlineData("-.nan")]
    [InlineData("+.NaN")]
    [InlineData("inf")]
    [InlineData("1:30")]
    [InlineData("1:60.5")]
    [InlineData("1:30.5e+3")]
    [InlineData("1:3_0.5")]
    [InlineData("1.5 ")]
    [InlineData("1.5\n")]
    public void Float_pattern_refuses(string text) => Assert.False(ImplicitPatterns.IsFloat(text));

    // ---- timestamp ----

    [Theory]
    [InlineData("2001-12-14")]
    [InlineData("2001-12-14t21:59:43.10-05:00")]
    [InlineData("2001-12-14T21:59:43Z")]
    [InlineData("2001-12-14 21:59:43.10 -5")]
    [InlineData("2001-12-14\t \t21:59:43")]
    [InlineData("2001-1-2T3:04:05")]
    [InlineData("2001-12-14T21:59:43.")]
    [InlineData("2001-12-14T21:59:43.123456789")]
    [InlineData("2001-12-14T21:59:43 Z")]
    [InlineData("2001-12-14T21:59:43+01")]
    [InlineData("2001-12-14T21:59:43\t+1:30")]
    [InlineData("9999-99-99")]
    public void Timestamp_pattern_accepts(string text) => Assert.True(ImplicitPatterns.IsTimestamp(text));

    [Theory]
    [InlineData("")]
    [InlineData("2001-1-14")]
    [InlineData("2001-12-4")]
    [InlineData("01-12-14")]
    [InlineData("2001-12-14T")]
    [InlineData("2001-12-14 ")]
    [InlineData("2001-12-14TT21:59:43")]
    [InlineData("2001-12-14 T21:59:43")]
    [InlineData("2001-12-14T21:59")]
    [InlineData("2001-12-14T21:5:43")]
    [InlineData("2001-12-14T21:59:4")]
    [InlineData("2001-12-14T121:59:43")]
    [InlineData("2001-123-14T21:59:43")]
    [InlineData("2001-12-14T21:59:43 ")]
    [InlineData("2001-12-14T21:59:43z")]
    [InlineData("2001-12-14T21:59:43ZZ")]
    [InlineData("2001-12-14T21:59:43+")]
    [InlineData("2001-12-14T21:59:43+123")]
    [InlineData("2001-12-14T21:59:43+1:3")]
    [InlineData("2001-12-14T21:59:43+01:300")]
    [InlineData("2001-12-14T21:59:43,5")]
    [InlineData("2001/12/14")]
    [InlineData("2001-12-14\n")]
    public void Timestamp_pattern_refuses(string text) => Assert.False(ImplicitPatterns.IsTimestamp(text));

    // ---- names ----

    [Theory]
    [InlineData("loom", true, true, true)]
    [InlineData("a_b-C9", true, true, true)]
    [InlineData("site1.loom", false, true, false)]
    [InlineData("Europe/Berlin", false, false, true)]
    [InlineData("Etc/GMT+5", false, false, true)]
    [InlineData("America/Argentina/Buenos_Aires", false, false, true)]
    [InlineData("", false, false, false)]
    [InlineData(".loom", false, false, false)]
    [InlineData("loom.", false, false, false)]
    [InlineData("a..b", false, false, false)]
    [InlineData("/Europe", false, false, false)]
    [InlineData("Europe//Berlin", false, false, false)]
    [InlineData("../etc", false, false, false)]
    [InlineData("a b", false, false, false)]
    [InlineData("a*", false, false, false)]
    [InlineData("a>", false, false, false)]
    [InlineData("é", false, false, false)]
    [InlineData("loom\n", false, false, false)]
    public void Name_patterns_accept_tokens_dotted_prefixes_and_zone_ids(string text, bool token, bool prefix, bool zone)
    {
        Assert.Equal(token, NamePatterns.IsToken(text));
        Assert.Equal(prefix, NamePatterns.IsDottedTokens(text));
        Assert.Equal(zone, NamePatterns.IsZoneId(text));
    }

    // ---- against the original regular expressions ----

    // resolver.py's patterns verbatim, anchored with \z: .NET's and Python's $ would also match before a final
    // line break, which no plain scalar has and which the matchers refuse on purpose.
    private static readonly Regex PyYamlInt = new(
        @"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\z",
        RegexOptions.CultureInvariant);

    private static readonly Regex PyYamlFloat = new(
        @"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\z",
        RegexOptions.CultureInvariant);

    private static readonly Regex PyYamlTimestamp = new(
        @"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)\z",
        RegexOptions.CultureInvariant);

    private static readonly Regex Token = new(@"^[A-Za-z0-9_-]+\z", RegexOptions.CultureInvariant);
    private static readonly Regex Prefix = new(@"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\z", RegexOptions.CultureInvariant);
    private static readonly Regex ZoneId = new(@"^[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*\z", RegexOptions.CultureInvariant);

    [Fact]
    public void Number_matchers_agree_with_PyYAMLs_regular_expressions_on_random_strings()
    {
        var random = new Random(6);
        int ints = 0, floats = 0;
        // Digits, points and colons come up more often than the rest (a character's weight is how often it is listed).
        foreach (string text in RandomStrings(random, "01234567890123456789012345678901234567890_-+..::eEbxXaAfFiInNtT ", 300_000, 9))
        {
            bool isInt = PyYamlInt.IsMatch(text), isFloat = PyYamlFloat.IsMatch(text);
            Assert.True(isInt == ImplicitPatterns.IsInt(text), $"int \"{text}\": PyYAML says {isInt}");
            Assert.True(isFloat == ImplicitPatterns.IsFloat(text), $"float \"{text}\": PyYAML says {isFloat}");
            ints += isInt ? 1 : 0;
            floats += isFloat ? 1 : 0;
        }
        // The alphabet is small enough that both kinds turn up often: the comparison is not between two "no"s.
        Assert.True(ints > 20_000 && floats > 5_000, $"{ints} ints, {floats} floats");
    }

    [Fact]
    public void Timestamp_matcher_agrees_with_PyYAMLs_regular_expression_on_random_strings()
    {
        var random = new Random(6);
        int matches = 0;
        // Random timestamps with one or two characters changed, so that most are near misses.
        string[] seeds = ["2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-1-2 3:04:05", "2001-12-14T21:59:43 Z", "2001-12-14\t21:59:43.5+1:30"];
        const string alphabet = "0123456789-:.+ZTt \tx";
        for (int n = 0; n < 200_000; n++)
        {
            var text = new StringBuilder(seeds[random.Next(seeds.Length)]);
            for (int edits = random.Next(3); edits > 0; edits--)
            {
                int at = random.Next(text.Length + 1);
                switch (random.Next(3))
                {
                    case 0 when at < text.Length:
                        text.Remove(at, 1);
                        break;
                    case 1 when at < text.Length:
                        text[at] = alphabet[random.Next(alphabet.Length)];
                        break;
                    default:
                        text.Insert(at, alphabet[random.Next(alphabet.Length)]);
                        break;
                }
            }
            string s = text.ToString();
            bool expected = PyYamlTimestamp.IsMatch(s);
            Assert.True(expected == ImplicitPatterns.IsTimestamp(s), $"timestamp \"{s}\": PyYAML says {expected}");
            matches += expected ? 1 : 0;
        }
        Assert.True(matches > 20_000, $"{matches} timestamps");
    }

    [Fact]
    public void Name_matchers_agree_with_the_regular_expressions_they_replace_on_random_strings()
    {
        foreach (string text in RandomStrings(new Random(6), "aZ09_-+./ é", 100_000, 6))
        {
            Assert.True(Token.IsMatch(text) == NamePatterns.IsToken(text), $"token \"{text}\"");
            Assert.True(Prefix.IsMatch(text) == NamePatterns.IsDottedTokens(text), $"prefix \"{text}\"");
            Assert.True(ZoneId.IsMatch(text) == NamePatterns.IsZoneId(text), $"zone \"{text}\"");
        }
    }

    private static IEnumerable<string> RandomStrings(Random random, string alphabet, int count, int maxLength)
    {
        var chars = new char[maxLength];
        for (int n = 0; n < count; n++)
        {
            int length = random.Next(maxLength + 1);
            for (int i = 0; i < length; i++)
            {
                chars[i] = alphabet[random.Next(alphabet.Length)];
            }
            yield return new string(chars, 0, length);
        }
    }
}
