using System.Globalization;
using System.Text.RegularExpressions;
using LoomSched.Config;
using LoomSched.Config.Validation;
using LoomSched.Dispatch;
using LoomSched.Scheduling;

namespace LoomSched.Daemon;

internal static partial class Cli
{
    private static int Validate(IEnumerable<string> args)
    {
        var parsed = CliArgs.Parse("validate", args, "--strict", "--json");
        if (parsed.Positionals.Count == 0)
        {
            throw new UsageException("validate: name at least one config file");
        }
        foreach (string path in parsed.Positionals)
        {
            _ = ConfigPath("validate", path); // before any file is read, as the other commands check theirs
        }
        bool json = parsed.Has("--json");
        var results = parsed.Positionals.Select(path =>
        {
            var result = ConfigLoader.LoadFile(path, Registry());
            return (Path: path, Result: parsed.Has("--strict") ? result.Strict() : result);
        }).ToList();
        bool allValid = results.All(r => r.Result.Success);
        if (json)
        {
            PrintValidation(results);
            return allValid ? 0 : 2;
        }
        foreach (var (path, result) in results)
        {
            foreach (var error in result.Errors)
            {
                Console.Out.WriteLine(error.Format("error"));
            }
            foreach (var note in result.Notes)
            {
                Console.Out.WriteLine(note.Format("note"));
            }
            Console.Out.WriteLine(result.Success
                ? $"{UserText.Escape(path)}: valid, {result.Config!.Schedules.Count} schedule(s)"
                : $"{UserText.Escape(path)}: invalid, {result.Errors.Count} error(s)");
        }
        return allValid ? 0 : 2;
    }

    /// <summary><c>validate --json</c>: whether all are valid, and each file's diagnostics.</summary>
    private static void PrintValidation(IReadOnlyList<(string Path, ConfigLoadResult Result)> results) => CliJson.Print(w =>
    {
        w.WriteStartObject();
        w.WriteBoolean("valid", results.All(r => r.Result.Success));
        w.WriteStartArray("files");
        foreach (var (path, result) in results)
        {
            w.WriteStartObject();
            w.WriteString("path", path);
            w.WriteBoolean("valid", result.Success);
            w.WriteNumber("schedules", result.Config?.Schedules.Count ?? 0);
            w.WriteNumber("errors", result.Errors.Count);
            w.WriteStartArray("diagnostics");
            foreach (var error in result.Errors)
            {
                CliJson.Diagnostic(w, error, "error");
            }
            foreach (var note in result.Notes)
            {
                CliJson.Diagnostic(w, note, "note");
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static int Next(IEnumerable<string> args)
    {
        var parsed = CliArgs.Parse("next", args, "--count", "--schedule", "--from", "--json");
        if (parsed.Positionals.Count != 1)
        {
            throw new UsageException("next: name one config file, e.g. loomsched next config/scheduler.example.yaml");
        }
        int count = parsed.GetInt("next", "--count", 5, 1, 10_000);
        string? only = parsed.Get("--schedule");
        bool json = parsed.Has("--json");
        // Interval schedules count from when the daemon starts: here, from now or --from.
        var from = parsed.Get("--from") is { } text ? ParseFrom("next", text) : TimeProvider.System.GetUtcNow();
        var config = LoadOrReport(ConfigPath("next", parsed.Positionals[0]), json: json);
        if (config is null)
        {
            return 2;
        }
        if (config.Schedules.Count == 0 && only is not null)
        {
            throw new UsageException($"next: no schedule is named \"{only}\": the config has no schedules");
        }
        var schedules = config.Schedules.Where(s => only is null || s.Name == only).ToList();
        if (schedules.Count == 0 && only is not null)
        {
            throw new UsageException($"next: no schedule is named \"{only}\"; known: {string.Join(", ", config.Schedules.Select(s => s.Name))}");
        }
        var upcoming = schedules.Select(s => (Schedule: s, Slots: UpcomingSlots.Of(s, from, count))).ToList();
        if (json)
        {
            CliJson.Print(w =>
            {
                w.WriteStartObject();
                w.WriteString("from", LoomTime.Format(from));
                w.WriteStartArray("schedules");
                foreach (var (schedule, slots) in upcoming)
                {
                    w.WriteStartObject();
                    w.WriteString("name", schedule.Name);
                    w.WriteString("trigger", schedule.Trigger.Describe());
                    w.WriteBoolean("enabled", schedule.Enabled);
                    w.WriteNumber("jitter_seconds", schedule.Jitter?.Max.TotalSeconds ?? 0);
                    w.WriteStartArray("slots");
                    foreach (var slot in slots)
                    {
                        w.WriteStringValue(CliJson.Slot(slot));
                    }
                    w.WriteEndArray();
                    // When each slot fires: the slot itself, or with jitter_seconds the slot plus its delay (in slot order).
                    w.WriteStartArray("fires");
                    foreach (var fire in UpcomingSlots.FireTimes(schedule, slots))
                    {
                        w.WriteStringValue(CliJson.Slot(fire));
                    }
                    w.WriteEndArray();
                    // False when the trigger has no slot after the last one listed (a cron no date matches, the calendar's end).
                    w.WriteBoolean("more", slots.Count == count);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return 0;
        }
        if (config.Schedules.Count == 0)
        {
            // A valid config (validate says so, with a note): nothing is upcoming, as for a cron no date matches.
            Console.Out.WriteLine("(the config has no schedules: nothing fires)");
            return 0;
        }
        foreach (var (schedule, slots) in upcoming)
        {
            // A name has no control characters (validation refuses them) but may hold a direction mark, as Loom allows.
            string jitter = schedule.Jitter is { } j ? $", jitter up to {j.Max.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s" : "";
            Console.Out.WriteLine($"{UserText.Escape(schedule.Name)}  ({schedule.Trigger.Describe()}{jitter})");
            if (!schedule.Enabled)
            {
                Console.Out.WriteLine("  (disabled: enabled: false, it never fires)");
                continue;
            }
            var fireTimes = UpcomingSlots.FireTimes(schedule, slots);
            for (int i = 0; i < slots.Count; i++)
            {
                // A jittered slot fires later than the slot its messages carry: both are shown.
                string fires = schedule.Jitter is null ? "" : $"  fires {LoomTime.Format(fireTimes[i])}";
                Console.Out.WriteLine($"  {CliJson.Slot(slots[i])}  {LoomTime.Format(slots[i])}{fires}");
            }
            if (slots.Count < count)
            {
                Console.Out.WriteLine("  (no further slot)");
            }
        }
        return 0;
    }

    /// <summary>An instant with its offset: ISO-8601 with Z or ±hh:mm, as the slots are printed.</summary>
    private static DateTimeOffset ParseFrom(string command, string text)
    {
        var match = FromPattern().Match(text);
        if (!match.Success)
        {
            throw new UsageException($"{command}: --from must be a time with its offset, such as 2027-03-27T00:00:00Z or 2027-03-27T01:00:00+01:00, got \"{text}\"");
        }
        string local = match.Groups["local"].Value, offsetText = match.Groups["offset"].Value;
        // A time without an offset would be read in some zone; which one is for the user to say.
        if (offsetText.Length == 0)
        {
            throw new UsageException($"{command}: --from \"{text}\" has no offset; add Z for UTC or ±hh:mm, such as {local}Z or {local}+01:00");
        }
        if (!OffsetPattern().IsMatch(offsetText))
        {
            throw new UsageException($"{command}: --from \"{text}\" ends in \"{offsetText}\", which is no offset; write Z for UTC or ±hh:mm, such as {local}Z or {local}+01:00");
        }
        if (InstantReading.OffsetOf(offsetText) is not { } offset)
        {
            throw new UsageException($"{command}: --from \"{text}\" has the offset {offsetText}, out of range: an offset is Z or ±hh:mm from -14:00 to +14:00 (minutes 00 to 59), such as {local}+14:00");
        }
        if (!InstantReading.TryWallTime(match.Groups["date"].Value, match.Groups["time"].Value, out var wall))
        {
            throw new UsageException($"{command}: --from \"{text}\" is no date-time on the calendar (month 1–12, a day the month has, hours 00–23, minutes and seconds 00–59)");
        }
        // The wall year first: a year such as 0001 with an offset is before the first instant DateTimeOffset holds.
        const int First = InstantReading.FirstYear, Last = InstantReading.LastYear;
        var from = wall.Year is >= First and <= Last ? new DateTimeOffset(wall, offset).ToUniversalTime() : default;
        return from.Year is >= First and <= Last ? from : throw new UsageException($"{command}: --from must be in the years {First} to {Last}, got \"{text}\"");
    }

    [GeneratedRegex(@"^(?<local>(?<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?))(?<offset>.*)\z", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex FromPattern();

    [GeneratedRegex(@"^(?:[Zz]|[+-][0-9]{2}:[0-9]{2})\z", RegexOptions.CultureInvariant)]
    private static partial Regex OffsetPattern();
}
