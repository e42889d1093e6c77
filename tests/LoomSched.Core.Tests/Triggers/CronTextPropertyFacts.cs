using System.Globalization;
using CsCheck;
using LoomSched.Triggers;

namespace LoomSched.Tests.Triggers;

/// <summary>
/// Cron text built from the pieces of every dialect a user may bring (Vixie, Quartz, Jenkins, croniter, Go), right and
/// wrong: whatever the text, it parses or is refused with one line that quotes it, and what parses yields slots.
/// </summary>
public sealed class CronTextPropertyFacts
{
    private static readonly DateTimeOffset[] From =
    [
        new(2026, 12, 7, 3, 0, 0, TimeSpan.Zero),
        new(2099, 12, 31, 23, 59, 59, TimeSpan.Zero),
        new(9999, 12, 30, 0, 0, 0, TimeSpan.Zero),
    ];

    private static readonly TimeZoneInfo[] Zones =
        [.. new[] { "UTC", "Europe/Berlin", "Asia/Kathmandu", "America/St_Johns" }.Select(TimeZoneInfo.FindSystemTimeZoneById)];

    // Mostly pieces that fit a field, so that many expressions parse and their slots are looked at.
    private static readonly Gen<string> Atom = Gen.Frequency<string>(
        (6, Gen.Int[0, 12].Select(i => i.ToString(CultureInfo.InvariantCulture))),
        (3, Gen.OneOf<string>("*", "*/5", "1-5", "?", "L", "MON", "jan")),
        (1, Gen.Int[-2, 100].Select(i => i.ToString(CultureInfo.InvariantCulture))),
        (2, Gen.OneOf<string>(
            "W", "LW", "L-3", "15W", "5L", "MON#2", "1#6", "#", "H", "H(0-29)", "H/5", "h", "R", "dec", "SUN", "FOO", "",
            "-", "/", ",", "@hourly", "@every", "@reboot", "0x1F", "1e2", "½", "٣", "*/0", "**")));

    private static readonly Gen<string> Field = Gen.Select(Atom, Gen.Frequency<string>((8, ""), (1, "-"), (1, "/"), (1, ","), (1, "#")), Atom,
        (a, separator, b) => separator.Length == 0 ? a : a + separator + b);

    private static readonly Gen<string> Expression = Gen.Frequency((8, Gen.Int[5, 6]), (1, Gen.Int[1, 8]))
        .SelectMany(n => Field.Array[n])
        .Select(Gen.Frequency<string>((8, " "), (1, "  "), (1, "\t")), (fields, space) => string.Join(space, fields));

    [Fact]
    public void Any_cron_text_parses_or_is_refused_with_one_line_that_quotes_it_and_what_parses_has_slots()
    {
        var gen = Gen.Select(Expression, Gen.Int[0, Zones.Length - 1]);
        int parsed = 0;
        for (int i = 0; i < Cases; i++)
        {
            // Case i comes from PCG(i, seed): the same cases on every machine.
            var (text, zone) = gen.Generate(new PCG((uint)i, Seed), null, out _);
            string? failure = Check(text, Zones[zone], ref parsed);
            Assert.True(failure is null, $"case {i}: cron \"{text}\" in {Zones[zone].Id}: {failure}");
        }
        // The pieces are mostly wrong; enough must be right for the slots to be looked at.
        Assert.InRange(parsed, Cases / 100, Cases);
    }

    private const int Cases = 20_000;
    private const ulong Seed = 20261207;

    private static string? Check(string text, TimeZoneInfo zone, ref int parsed)
    {
        CronTrigger? trigger;
        string? error;
        try
        {
            if (!CronTrigger.TryParse(text, zone, out trigger, out error))
            {
                // Quoted by the expression or, for a macro, by its first word.
                string first = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
                return error.Contains('\n', StringComparison.Ordinal) ? $"a refusal of more than one line: {error}"
                    : first.Length == 0 ? (error.StartsWith("a cron expression is empty", StringComparison.Ordinal) ? null : error)
                    : error.Contains($"\"{first}", StringComparison.Ordinal) ? null : $"a refusal that does not quote it: {error}";
            }
            parsed++;
            _ = trigger.MatchesNoDate();
            foreach (var from in From)
            {
                if (trigger.NextAfter(from, from) is { } next && next <= from)
                {
                    return $"its slot {next} is not after {from}";
                }
            }
            return null;
        }
        catch (Exception ex)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }
}
