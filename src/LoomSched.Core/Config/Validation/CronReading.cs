using LoomSched.Config.Yaml;
using LoomSched.Triggers;

namespace LoomSched.Config.Validation;

/// <summary><c>cron_seconds:</c> which field of a six-field cron is the second.</summary>
internal enum CronSeconds
{
    /// <summary><c>first</c>: Cronos, Quartz and NATS (loomsched's reading).</summary>
    First,
    /// <summary><c>last</c>: croniter (Loom's reading).</summary>
    Last,
}

/// <summary>
/// Reads a cron expression. Five fields and macros mean the same to loomsched and Loom; six do not: loomsched reads
/// the first as seconds, Loom's croniter the last. An expression that both orders read, differently, is an error
/// until <c>cron_seconds</c> says which; one that only one order reads loads as that order reads it, with a note.
/// </summary>
internal static class CronReading
{
    // Where readings are compared from: two expressions firing at the same instants from here on are the same.
    private static readonly DateTimeOffset CompareFrom = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const int ComparedSlots = 256;

    public static CronTrigger? Read(
        string text, TimeZoneInfo zone, CronSeconds? declared, YamlNode at, string path, Diagnostics diagnostics)
    {
        if (!HasSixFields(text))
        {
            return Parse(text, zone, at, path, diagnostics);
        }
        string[] fields = Split(text);
        // croniter's reading, written seconds first (the order Cronos reads).
        string last = string.Join(' ', [fields[5], .. fields[..5]]);
        switch (declared)
        {
            case CronSeconds.First:
                return Parse(text, zone, at, path, diagnostics);
            case CronSeconds.Last:
                if (CronTrigger.TryParse(last, zone, out var asLast, out string? lastError))
                {
                    return asLast;
                }
                diagnostics.Error(at, path,
                    $"\"{text}\" read with seconds last (cron_seconds: last) is \"{last}\" seconds first, and {lastError}");
                return null;
        }

        bool firstReads = CronTrigger.TryParse(text, zone, out var first, out string? firstError);
        bool lastReads = CronTrigger.TryParse(last, zone, out var second, out _);
        if (firstReads && lastReads)
        {
            if (!SameSlots(first!, second!))
            {
                diagnostics.Error(at, path,
                    $"\"{text}\" has six fields, which loomsched and Loom read differently: seconds first (loomsched) it is {Fields(fields, secondsFirst: true)}; "
                    + $"seconds last (Loom's croniter) it is {Fields(fields, secondsFirst: false)}. Say which with cron_seconds: first or cron_seconds: last, on the entry or at the top level");
                return null;
            }
            return first;
        }
        if (firstReads)
        {
            diagnostics.Note(at, path,
                $"\"{text}\" has six fields and reads only with seconds first ({Fields(fields, secondsFirst: true)}): loomsched reads it so, but Loom's croniter, which reads seconds last, refuses it");
            return first;
        }
        if (lastReads)
        {
            diagnostics.Note(at, path,
                $"\"{text}\" has six fields and reads only with seconds last, as Loom's croniter reads it ({Fields(fields, secondsFirst: false)}): loomsched reads it so too");
            return second;
        }
        diagnostics.Error(at, path, firstError!);
        return null;
    }

    /// <summary>Whether the expression has six fields: the only ones <c>cron_seconds</c> decides.</summary>
    public static bool HasSixFields(string text) => !text.TrimStart().StartsWith('@') && Split(text).Length == 6;

    private static string[] Split(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    private static CronTrigger? Parse(string text, TimeZoneInfo zone, YamlNode at, string path, Diagnostics diagnostics)
    {
        if (CronTrigger.TryParse(text, zone, out var trigger, out string? error))
        {
            return trigger;
        }
        diagnostics.Error(at, path, error);
        return null;
    }

    private static string Fields(string[] f, bool secondsFirst) => secondsFirst
        ? $"second {f[0]}, minute {f[1]}, hour {f[2]}, day {f[3]}, month {f[4]}, weekday {f[5]}"
        : $"minute {f[0]}, hour {f[1]}, day {f[2]}, month {f[3]}, weekday {f[4]}, second {f[5]}";

    // Different texts can mean the same ("* * * * * *" always does): compared by their slots.
    private static bool SameSlots(CronTrigger a, CronTrigger b)
    {
        if (a.Text == b.Text)
        {
            return true;
        }
        DateTimeOffset? x = CompareFrom, y = CompareFrom;
        for (int i = 0; i < ComparedSlots && x is not null; i++)
        {
            x = a.NextAfter(x.Value, CompareFrom);
            y = b.NextAfter(y!.Value, CompareFrom);
            if (x != y)
            {
                return false;
            }
        }
        return y is not null || x is null;
    }
}
