using System.Diagnostics.CodeAnalysis;
using Cronos;

namespace LoomSched.Triggers;

/// <summary>
/// Cron slots from Cronos, in the entry's zone. Five fields, or six with seconds <em>first</em>
/// (Cronos/Quartz/NATS order; Loom's croniter reads a sixth field as seconds last). Macros such as
/// <c>@hourly</c> are accepted. Daylight-saving transitions follow Cronos: a slot inside a skipped hour
/// fires at the transition, a slot inside a repeated hour fires once (interval-like expressions fire in both).
/// With both the day-of-month and the weekday field restricted, a day matching either fires, as in cron and croniter.
/// </summary>
public sealed class CronTrigger : ITrigger
{
    private readonly CronExpression _expression;

    // Set when both day fields are restricted: a day matching either fires (cron's rule, and croniter's, so Loom's),
    // where Cronos alone would fire only on a day matching both.
    private readonly (CronExpression MonthDays, CronExpression Weekdays)? _eitherDay;

    private CronTrigger(string text, CronExpression expression, TimeZoneInfo zone, bool hasSeconds,
        (CronExpression, CronExpression)? eitherDay)
    {
        Text = text;
        _expression = expression;
        Zone = zone;
        HasSeconds = hasSeconds;
        _eitherDay = eitherDay;
    }

    /// <summary>The expression as written.</summary>
    public string Text { get; }

    /// <summary>The zone slots are computed in.</summary>
    public TimeZoneInfo Zone { get; }

    /// <summary>True for six-field expressions (seconds first).</summary>
    public bool HasSeconds { get; }

    /// <summary>Parses an expression; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(
        string text, TimeZoneInfo zone,
        [NotNullWhen(true)] out CronTrigger? trigger, [NotNullWhen(false)] out string? error)
    {
        trigger = null;
        string trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            error = "a cron expression is empty; write 5 fields (minute hour day month weekday), 6 with seconds first, or a macro such as @hourly";
            return false;
        }

        if (trimmed.StartsWith('@') && CronText.MacroProblem(trimmed) is { } macroProblem)
        {
            error = macroProblem;
            return false;
        }
        int fields = trimmed.StartsWith('@') ? 5 : trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6))
        {
            error = $"a cron expression needs 5 fields (minute hour day month weekday) or 6 with seconds first; \"{trimmed}\" has {fields}"
                + (fields == 7 ? " (a year field is not supported)" : "");
            return false;
        }

        try
        {
            var format = fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
            var expression = CronExpression.Parse(trimmed, format);
            var eitherDay = trimmed.StartsWith('@') ? null : EitherDay(trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), format);
            trigger = new CronTrigger(trimmed, expression, zone, fields == 6, eitherDay);
            error = null;
            return true;
        }
        catch (MissingSeedException)
        {
            // Cronos reads H only with a seed, which a config has no place for.
            error = CronText.HashProblem(trimmed);
            return false;
        }
        catch (CronFormatException)
        {
            // Cronos's text says where its parser stopped; ours says which field is wrong and what it takes.
            error = CronText.FieldProblem(trimmed, hasSeconds: fields == 6);
            return false;
        }
    }

    /// <summary>
    /// True when no date matches the expression (30 February, 31 April): it parses, and Loom's config loads it, but it
    /// never fires. Looked for from 2000: every combination of day, month and weekday comes round within 28 years
    /// (1901–2099), well inside Cronos's search.
    /// </summary>
    public bool MatchesNoDate()
    {
        var from = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        return _eitherDay is var (monthDays, weekdays)
            ? monthDays.GetNextOccurrence(from) is null && weekdays.GetNextOccurrence(from) is null
            : _expression.GetNextOccurrence(from) is null;
    }

    /// <inheritdoc />
    public DateTimeOffset? NextAfter(DateTimeOffset instant, DateTimeOffset anchor)
    {
        if (_eitherDay is not var (monthDays, weekdays))
        {
            return Next(_expression, instant);
        }
        var byMonthDay = Next(monthDays, instant);
        var byWeekday = Next(weekdays, instant);
        return byMonthDay is null || (byWeekday is not null && byWeekday < byMonthDay) ? byWeekday : byMonthDay;
    }

    private DateTimeOffset? Next(CronExpression expression, DateTimeOffset instant)
    {
        try
        {
            return expression.GetNextOccurrence(instant, Zone, inclusive: false);
        }
        catch (ArgumentException)
        {
            // Near the end of the calendar (year 9999) Cronos's arithmetic leaves DateTime's range: no further slot.
            return null;
        }
    }

    /// <summary>
    /// With both day fields restricted, the expression once with the weekday field <c>*</c> and once with the
    /// day-of-month field <c>*</c>, whose slots together are the expression's; null when either day field is not
    /// restricted, and Cronos's reading is cron's.
    /// </summary>
    private static (CronExpression, CronExpression)? EitherDay(string[] fields, CronFormat format)
    {
        int monthDay = fields.Length == 6 ? 3 : 2, weekday = monthDay + 2;
        if (Unrestricted(fields[monthDay], fields[weekday], isMonthDay: true)
            || Unrestricted(fields[weekday], fields[monthDay], isMonthDay: false))
        {
            return null;
        }
        string[] monthDays = [.. fields], weekdays = [.. fields];
        monthDays[weekday] = "*";
        weekdays[monthDay] = "*";
        return (CronExpression.Parse(string.Join(' ', monthDays), format), CronExpression.Parse(string.Join(' ', weekdays), format));
    }

    // croniter's test: a day field restricts nothing when it is * or ?, or when it takes every day and the other
    // day field is written with a * in it (1-31 beside */2 is *; 1-31 beside MON is not).
    private static bool Unrestricted(string field, string other, bool isMonthDay)
    {
        if (field is "*" or "?")
        {
            return true;
        }
        if (!other.Contains('*', StringComparison.Ordinal))
        {
            return false;
        }
        // January 2001 has 31 days and starts on a Monday: a field taking every day matches each of them.
        var alone = CronExpression.Parse(isMonthDay ? $"0 0 {field} * *" : $"0 0 * * {field}");
        var from = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        int days = isMonthDay ? 31 : 7;
        return alone.GetOccurrences(from, from.AddDays(days), fromInclusive: true, toInclusive: false).Count() == days;
    }

    /// <inheritdoc />
    public string Describe() => $"cron \"{Text}\" ({Zone.Id})";
}
