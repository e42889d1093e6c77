using System.Globalization;
using System.Text;

namespace LoomSched.Benchmarks.Support;

/// <summary>The YAML configs the suites run. Schedule names are fixed-width so that every message is the same size.</summary>
internal static class Configs
{
    /// <summary>
    /// <paramref name="count"/> task schedules, each with the trigger <paramref name="trigger"/>(index). One flow-style
    /// line per schedule: 100,000 of them must stay under the loader's 8 MiB limit on a config file.
    /// </summary>
    public static string Tasks(string name, string prefix, int count, Func<int, string> trigger, string wire = "bare")
    {
        var yaml = new StringBuilder(count * 72 + 256);
        yaml.Append("name: ").Append(name).Append('\n')
            .Append("subject_prefix: ").Append(prefix).Append('\n')
            .Append("wire: ").Append(wire).Append('\n')
            .Append("schedules:\n");
        for (int i = 0; i < count; i++)
        {
            yaml.Append("  - {name: s").Append(i.ToString("D6", CultureInfo.InvariantCulture)).Append(", ")
                .Append(trigger(i)).Append(", task: {worker_type: bench}}\n");
        }
        return yaml.ToString();
    }

    public static string Interval(double seconds) =>
        "interval_seconds: " + seconds.ToString("0.###", CultureInfo.InvariantCulture);

    public static string Cron(string expression) => $"cron: \"{expression}\"";

    /// <summary>One schedule that never fires by itself and expands to <paramref name="count"/> maps when triggered.</summary>
    public static string FanOut(string name, string prefix, int count, string wire = "bare") =>
        $"""
        name: {name}
        subject_prefix: {prefix}
        wire: {wire}
        schedules:
          - name: burst
            interval_seconds: 86400
            task: {"{"}worker_type: bench, payload: {"{"}source: fanout{"}"}{"}"}
            expand_from: range
            expand_args: {"{"}count: {count}{"}"}
            max_expansion: {count}
            expand_timeout_seconds: 300

        """;

    /// <summary>A daily cron at an hour twelve hours from now, so that it never fires during a run.</summary>
    public static string FarDailyCron()
    {
        int hour = (DateTime.UtcNow.Hour + 12) % 24;
        return Cron($"0 {hour} * * *");
    }
}
