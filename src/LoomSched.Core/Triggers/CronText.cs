using System.Globalization;

namespace LoomSched.Triggers;

/// <summary>
/// What is wrong with a cron expression, in our words: Cronos's own (<c>Macro: Unexpected character 'r' on position
/// 1.</c>) say where its parser stopped, not what the user meant. Each field is checked loosely, for what is cheap to
/// tell: an unknown macro, a number out of its field's range, a step of 0, a name that is no month or weekday.
/// </summary>
internal static class CronText
{
    /// <summary>The macros Cronos accepts (case-insensitive), as a sentence lists them.</summary>
    public const string Macros = "@yearly (or @annually), @monthly, @weekly, @daily (or @midnight), @hourly, @every_minute and @every_second";

    private static readonly string[] MacroNames =
        ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@every_minute", "@every_second"];

    private static readonly string[] MonthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    private enum Field { Second, Minute, Hour, DayOfMonth, Month, DayOfWeek }

    /// <summary>Null when <paramref name="text"/> (starting with @) is a macro Cronos knows; otherwise why not.</summary>
    public static string? MacroProblem(string text)
    {
        string first = text.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0];
        if (IsOneOf(first, MacroNames))
        {
            return first.Length == text.Length ? null : $"\"{text}\": a macro such as {first} stands alone; remove what follows it";
        }
        if (first.Equals("@reboot", StringComparison.OrdinalIgnoreCase))
        {
            return $"\"{first}\" is not supported: it means once at boot, and a scheduler has no boot to fire at; write a time in 5 fields, or a macro: {Macros}";
        }
        return $"\"{first}\" is not a cron macro; the macros are {Macros}";
    }

    /// <summary>Why an expression with H (Jenkins's hashed value, which Cronos reads only with a seed) is refused.</summary>
    public static string HashProblem(string text) =>
        $"\"{text}\" uses H, a hashed value as Jenkins writes it, which is not supported: write the number itself, such as 7 in place of H, and spread schedules due at once with jitter_seconds";

    /// <summary>Why the fields of <paramref name="text"/> (5, or 6 with seconds first) are not valid, as closely as is cheap to tell.</summary>
    public static string FieldProblem(string text, bool hasSeconds)
    {
        string[] fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < fields.Length; i++)
        {
            var field = (Field)(i + (hasSeconds ? 0 : 1));
            if (Check(field, fields[i]) is { } problem)
            {
                return $"\"{text}\" is not a valid cron expression: {problem}";
            }
        }
        return $"\"{text}\" is not a valid cron expression: a field is not understood; each takes a number, a range (1-5), a list (1,3), a step (*/15) or *";
    }

    private static string? Check(Field field, string text)
    {
        foreach (string item in text.Split(','))
        {
            if (item.Length == 0)
            {
                return $"the {Name(field)} field \"{text}\" has an empty list item";
            }
            int slash = item.IndexOf('/', StringComparison.Ordinal);
            string range = slash < 0 ? item : item[..slash];
            if (slash >= 0)
            {
                var (_, max) = Bounds(field);
                string step = item[(slash + 1)..];
                if (!int.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out int every) || every < 1 || every > max)
                {
                    return $"the step \"/{step}\" in the {Name(field)} field must be a number from 1 to {max}";
                }
            }
            if (range is "*" || (range is "?" && field is Field.DayOfMonth or Field.DayOfWeek))
            {
                continue;
            }
            // Cronos's extras: L, LW, L-3, 15W in the day of month; 5L, 5#2 in the day of week.
            if (field == Field.DayOfMonth && range.StartsWith('L'))
            {
                continue;
            }
            if (field == Field.DayOfMonth && range.EndsWith('W'))
            {
                range = range[..^1];
            }
            if (field == Field.DayOfWeek && range.EndsWith('L'))
            {
                range = range[..^1];
            }
            if (field == Field.DayOfWeek && range.IndexOf('#', StringComparison.Ordinal) is var hash and >= 0)
            {
                string nth = range[(hash + 1)..];
                if (!int.TryParse(nth, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || n > 5)
                {
                    return $"\"#{nth}\" in the day-of-week field must be from #1 to #5 (the first to the fifth such weekday of the month)";
                }
                range = range[..hash];
            }
            int dash = range.IndexOf('-', StringComparison.Ordinal);
            string? problem = dash < 0
                ? Value(field, range)
                : Value(field, range[..dash]) ?? Value(field, range[(dash + 1)..]);
            if (problem is not null)
            {
                return problem;
            }
        }
        return null;
    }

    private static string? Value(Field field, string value)
    {
        var (min, max) = Bounds(field);
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
        {
            return number < min || number > max
                ? $"{Name(field)} {value} is out of range (the {Name(field)} field takes {min} to {max}{(field == Field.DayOfWeek ? "; 0 and 7 are Sunday" : "")})"
                : null;
        }
        string[]? names = field switch { Field.Month => MonthNames, Field.DayOfWeek => DayNames, _ => null };
        if (names is not null && IsOneOf(value, names))
        {
            return null;
        }
        return names is null
            ? $"the {Name(field)} field takes numbers from {min} to {max}, not \"{value}\""
            : $"\"{value}\" is no {Name(field)}: write {min} to {max} or a name from {names[0]} to {names[^1]}";
    }

    private static bool IsOneOf(string text, string[] names)
    {
        foreach (string name in names)
        {
            if (name.Equals(text, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static (int Min, int Max) Bounds(Field field) => field switch
    {
        Field.Second or Field.Minute => (0, 59),
        Field.Hour => (0, 23),
        Field.DayOfMonth => (1, 31),
        Field.Month => (1, 12),
        _ => (0, 7),
    };

    private static string Name(Field field) => field switch
    {
        Field.Second => "second",
        Field.Minute => "minute",
        Field.Hour => "hour",
        Field.DayOfMonth => "day-of-month",
        Field.Month => "month",
        _ => "day-of-week",
    };
}
