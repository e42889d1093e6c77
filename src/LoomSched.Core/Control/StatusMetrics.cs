using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LoomSched.Control;

/// <summary>
/// A <c>status</c> reply in the Prometheus text exposition format (version 0.0.4), for node_exporter's textfile
/// collector (<c>loomsched status --format prometheus</c>): per schedule its counters, per daemon its publisher's.
/// </summary>
public static class StatusMetrics
{
    private static readonly (string Field, string Metric, string Type, string Help)[] ScheduleMetrics =
    [
        ("fires", "loomsched_schedule_fires_total", "counter", "Fires started, scheduled and triggered."),
        ("dispatched", "loomsched_schedule_dispatched_total", "counter", "Messages handed to the publisher."),
        ("errors", "loomsched_schedule_errors_total", "counter", "Fires that failed (expansion, values, publish)."),
        ("skipped", "loomsched_schedule_skipped_total", "counter", "Slots skipped while the previous fire still ran."),
        ("missed", "loomsched_schedule_missed_total", "counter", "Slots passed over after a stall (the schedule fired once for them)."),
        ("not_claimed", "loomsched_schedule_not_claimed_total", "counter", "Slots another replica owned."),
        ("last_late_ms", "loomsched_schedule_last_late_milliseconds", "gauge", "How late the last fire started after its slot."),
    ];

    private static readonly (string Field, string Metric, string Type, string Help)[] PublisherMetrics =
    [
        ("published", "loomsched_published_total", "counter", "Messages confirmed by the server (or the stream)."),
        ("pending", "loomsched_pending", "gauge", "Messages waiting to be sent or confirmed."),
        ("max_pending", "loomsched_max_pending", "gauge", "The publish buffer's bound (max_pending)."),
        ("dropped", "loomsched_dropped_total", "counter", "Messages dropped because the buffer was full while NATS was away."),
        ("publish_errors", "loomsched_publish_errors_total", "counter", "Messages the server refused."),
        ("resent", "loomsched_resent_total", "counter", "Messages sent again after a reconnect."),
        ("uptime_seconds", "loomsched_uptime_seconds", "gauge", "How long the daemon has run."),
    ];

    /// <summary>The metrics of an answered <c>status</c> reply.</summary>
    public static string Of(JsonElement status)
    {
        string scheduler = status.TryGetProperty("scheduler", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString()! : "";
        var text = new StringBuilder();
        Family(text, "loomsched_up", "gauge", "1 when the daemon answered status.");
        Sample(text, "loomsched_up", Labels(("scheduler", scheduler)), 1);
        foreach (var (field, metric, type, help) in PublisherMetrics)
        {
            if (status.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.Number)
            {
                Family(text, metric, type, help);
                Sample(text, metric, Labels(("scheduler", scheduler)), value.GetDouble());
            }
        }
        var schedules = status.TryGetProperty("schedules", out var list) && list.ValueKind == JsonValueKind.Array
            ? [.. list.EnumerateArray()] : new List<JsonElement>();
        foreach (var (field, metric, type, help) in ScheduleMetrics)
        {
            Family(text, metric, type, help);
            foreach (var s in schedules)
            {
                if (s.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.Number)
                {
                    Sample(text, metric, Labels(("scheduler", scheduler), ("schedule", s.GetProperty("name").GetString()!)), value.GetDouble());
                }
            }
        }
        Histograms(text, status, scheduler, schedules);
        Family(text, "loomsched_schedule_paused", "gauge", "1 while the schedule is paused.");
        foreach (var s in schedules)
        {
            Sample(text, "loomsched_schedule_paused", Labels(("scheduler", scheduler), ("schedule", s.GetProperty("name").GetString()!)),
                s.TryGetProperty("paused", out var paused) && paused.ValueKind == JsonValueKind.True ? 1 : 0);
        }
        Family(text, "loomsched_schedule_next_fire_timestamp_seconds", "gauge", "When the schedule fires next (absent while it has no next slot).");
        foreach (var s in schedules)
        {
            if (s.TryGetProperty("next_fire", out var next) && next.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(next.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                Sample(text, "loomsched_schedule_next_fire_timestamp_seconds",
                    Labels(("scheduler", scheduler), ("schedule", s.GetProperty("name").GetString()!)), at.ToUnixTimeMilliseconds() / 1000.0);
            }
        }
        return text.ToString();
    }

    /// <summary>Each schedule's <c>late_ms</c> as a histogram: a bucket per bound of <c>late_ms_bounds</c>, +Inf, sum and count.</summary>
    private static void Histograms(StringBuilder text, JsonElement status, string scheduler, List<JsonElement> schedules)
    {
        const string Metric = "loomsched_schedule_late_milliseconds";
        if (!status.TryGetProperty("late_ms_bounds", out var boundList) || boundList.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        string[] bounds = [.. boundList.EnumerateArray().Select(b => b.GetDouble().ToString("R", CultureInfo.InvariantCulture))];
        Family(text, Metric, "histogram", "How late the scheduled fires started after their slots.");
        foreach (var s in schedules)
        {
            if (!s.TryGetProperty("late_ms", out var late) || late.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            string name = s.GetProperty("name").GetString()!;
            int i = 0;
            foreach (var atMost in late.GetProperty("at_most").EnumerateArray())
            {
                Sample(text, Metric + "_bucket", Labels(("scheduler", scheduler), ("schedule", name), ("le", bounds[i++])), atMost.GetDouble());
            }
            double count = late.GetProperty("count").GetDouble();
            Sample(text, Metric + "_bucket", Labels(("scheduler", scheduler), ("schedule", name), ("le", "+Inf")), count);
            Sample(text, Metric + "_sum", Labels(("scheduler", scheduler), ("schedule", name)), late.GetProperty("sum").GetDouble());
            Sample(text, Metric + "_count", Labels(("scheduler", scheduler), ("schedule", name)), count);
        }
    }

    /// <summary>What a textfile collector should read when the daemon did not answer.</summary>
    public static string Down(string scheduler)
    {
        var text = new StringBuilder();
        Family(text, "loomsched_up", "gauge", "1 when the daemon answered status.");
        Sample(text, "loomsched_up", Labels(("scheduler", scheduler)), 0);
        return text.ToString();
    }

    private static void Family(StringBuilder text, string metric, string type, string help) =>
        text.Append("# HELP ").Append(metric).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(metric).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder text, string metric, string labels, double value) =>
        text.Append(metric).Append(labels).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');

    /// <summary><c>{a="x",b="y"}</c>, with backslash, double quote and line feed escaped as the format says.</summary>
    private static string Labels(params (string Name, string Value)[] labels) =>
        "{" + string.Join(',', labels.Select(l => $"{l.Name}=\"{l.Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"")) + "}";
}
