using System.Globalization;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Scheduling;

namespace LoomSched.Daemon;

internal static partial class Cli
{
    private static int Validate(IEnumerable<string> args)
    {
        var parsed = CliArgs.Parse("validate", args);
        if (parsed.Positionals.Count == 0)
        {
            throw new UsageException("validate: name at least one config file");
        }
        bool allValid = true;
        foreach (var path in parsed.Positionals)
        {
            var result = ConfigLoader.LoadFile(path, Registry());
            foreach (var error in result.Errors)
            {
                Console.Out.WriteLine(error);
            }
            foreach (var note in result.Notes)
            {
                Console.Out.WriteLine($"{note} (note)");
            }
            if (result.Success)
            {
                Console.Out.WriteLine($"{path}: valid, {result.Config!.Schedules.Count} schedule(s)");
            }
            else
            {
                Console.Out.WriteLine($"{path}: invalid, {result.Errors.Count} error(s)");
                allValid = false;
            }
        }
        return allValid ? 0 : 2;
    }

    private static int Next(IEnumerable<string> args)
    {
        var parsed = CliArgs.Parse("next", args, "--count", "--schedule");
        if (parsed.Positionals.Count != 1)
        {
            throw new UsageException("next: name one config file, e.g. loomsched next config/scheduler.example.yaml");
        }
        int count = parsed.GetInt("next", "--count", 5, 1, 10_000);
        string? only = parsed.Get("--schedule");
        var config = LoadOrReport(parsed.Positionals[0]);
        if (config is null)
        {
            return 2;
        }
        var schedules = config.Schedules.Where(s => only is null || s.Name == only).ToList();
        if (schedules.Count == 0)
        {
            throw new UsageException($"next: no schedule is named \"{only}\"; known: {string.Join(", ", config.Schedules.Select(s => s.Name))}");
        }
        // Interval schedules count from when the daemon starts: here, from now.
        var now = TimeProvider.System.GetUtcNow();
        foreach (var schedule in schedules)
        {
            Console.Out.WriteLine($"{schedule.Name}  ({schedule.Trigger.Describe()})");
            var slots = UpcomingSlots.Of(schedule, now, count);
            foreach (var slot in slots)
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {slot:yyyy-MM-dd'T'HH:mm:ss.FFFFFFzzz}  {LoomTime.Format(slot)}"));
            }
            if (slots.Count < count)
            {
                Console.Out.WriteLine("  (no further slot)");
            }
        }
        return 0;
    }
}
