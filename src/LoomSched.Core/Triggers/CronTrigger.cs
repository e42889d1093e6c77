using System.Diagnostics.CodeAnalysis;
using Cronos;

namespace LoomSched.Triggers;

/// <summary>
/// Cron slots from Cronos, in the entry's zone. Five fields, or six with seconds <em>first</em>
/// (Cronos/Quartz/NATS order; Loom's croniter reads a sixth field as seconds last). Macros such as
/// <c>@hourly</c> are accepted. Daylight-saving transitions follow Cronos: a slot inside a skipped hour
/// fires at the transition, a slot inside a repeated hour fires once (interval-like expressions fire in both).
/// </summary>
public sealed class CronTrigger : ITrigger
{
    private readonly CronExpression _expression;

    private CronTrigger(string text, CronExpression expression, TimeZoneInfo zone, bool hasSeconds)
    {
        Text = text;
        _expression = expression;
        Zone = zone;
        HasSeconds = hasSeconds;
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
            var expression = CronExpression.Parse(trimmed, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
            trigger = new CronTrigger(trimmed, expression, zone, fields == 6);
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
    public bool MatchesNoDate() =>
        _expression.GetNextOccurrence(new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc)) is null;

    /// <inheritdoc />
    public DateTimeOffset? NextAfter(DateTimeOffset instant, DateTimeOffset anchor)
    {
        try
        {
            return _expression.GetNextOccurrence(instant, Zone, inclusive: false);
        }
        catch (ArgumentException)
        {
            // Near the end of the calendar (year 9999) Cronos's arithmetic leaves DateTime's range: no further slot.
            return null;
        }
    }

    /// <inheritdoc />
    public string Describe() => $"cron \"{Text}\" ({Zone.Id})";
}
