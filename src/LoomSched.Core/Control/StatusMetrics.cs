using System.Globalization;
using System.Text;
using System.Text.Json;
using LoomSched.Scheduling;

namespace LoomSched.Control;

/// <summary>
/// A <c>status</c> in the Prometheus text exposition format (version 0.0.4): per schedule its counters, per daemon its
/// publisher's. One writer over <see cref="StatusNumbers"/> serves the daemon's <c>/metrics</c> (from the engine) and
/// <c>loomsched status --format prometheus</c> (from a reply, for node_exporter's textfile collector).
/// </summary>
public static class StatusMetrics
{
    private static readonly (string Field, string Metric, string Type, string Help)[] ScheduleMetrics =
    [
        ("fires", "loomsched_schedule_fires_total", "counter", "Fires started, scheduled and triggered."),
        ("dispatched", "loomsched_schedule_dispatched_total", "counter", "Messages handed to the publisher."),
        ("dropped", "loomsched_schedule_dropped_total", "counter", "Of those, messages dropped: NATS was away and max_pending reached."),
        ("errors", "loomsched_schedule_errors_total", "counter", "Fires that failed (expansion, values, publish)."),
        ("skipped", "loomsched_schedule_skipped_total", "counter", "Slots skipped while the previous fire still ran."),
        ("missed", "loomsched_schedule_missed_total", "counter", "Slots that never fired: passed over after a stall, or missed while nothing ran and not caught up."),
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
    public static string Of(JsonElement status) => Of(StatusNumbers.Read(status));

    /// <summary>The metrics of the engine's snapshot and the publisher's counters (the daemon's <c>/metrics</c>).</summary>
    public static string Of(SchedulerStatus status, PublishCounters? publisher) => Of(StatusNumbers.Of(status, publisher));

    /// <summary>The metrics of a status's numbers.</summary>
    public static string Of(StatusNumbers status)
    {
        var text = new StringBuilder();
        string scheduler = Labels(("scheduler", status.Scheduler));
        Family(text, "loomsched_up", "gauge", "1 when the daemon answered status.");
        Sample(text, "loomsched_up", scheduler, 1);
        foreach (var (field, metric, type, help) in PublisherMetrics)
        {
            if (status.Daemon.TryGetValue(field, out double value))
            {
                Family(text, metric, type, help);
                Sample(text, metric, scheduler, value);
            }
        }
        var labels = status.Schedules.Select(s => Labels(("scheduler", status.Scheduler), ("schedule", s.Name))).ToList();
        foreach (var (field, metric, type, help) in ScheduleMetrics)
        {
            Family(text, metric, type, help);
            for (int i = 0; i < labels.Count; i++)
            {
                if (status.Schedules[i].Counters.TryGetValue(field, out double value))
                {
                    Sample(text, metric, labels[i], value);
                }
            }
        }
        Histograms(text, status);
        Family(text, "loomsched_schedule_paused", "gauge", "1 while the schedule is paused.");
        for (int i = 0; i < labels.Count; i++)
        {
            Sample(text, "loomsched_schedule_paused", labels[i], status.Schedules[i].Paused ? 1 : 0);
        }
        Family(text, "loomsched_schedule_next_fire_timestamp_seconds", "gauge", "When the schedule fires next (absent while it has no next slot).");
        for (int i = 0; i < labels.Count; i++)
        {
            if (status.Schedules[i].NextFire is { } at)
            {
                Sample(text, "loomsched_schedule_next_fire_timestamp_seconds", labels[i], at.ToUnixTimeMilliseconds() / 1000.0);
            }
        }
        return text.ToString();
    }

    /// <summary>Each schedule's lateness as a histogram: a bucket per bound, +Inf, sum and count.</summary>
    private static void Histograms(StringBuilder text, StatusNumbers status)
    {
        const string Metric = "loomsched_schedule_late_milliseconds";
        if (status.LateBoundsMs is not { } boundsMs)
        {
            return;
        }
        string[] bounds = [.. boundsMs.Select(b => b.ToString("R", CultureInfo.InvariantCulture))];
        Family(text, Metric, "histogram", "How late the scheduled fires started after their slots.");
        foreach (var s in status.Schedules)
        {
            if (s.Lateness is not { } late)
            {
                continue;
            }
            for (int i = 0; i < late.AtMost.Count; i++)
            {
                Sample(text, Metric + "_bucket", Labels(("scheduler", status.Scheduler), ("schedule", s.Name), ("le", bounds[i])), late.AtMost[i]);
            }
            Sample(text, Metric + "_bucket", Labels(("scheduler", status.Scheduler), ("schedule", s.Name), ("le", "+Inf")), late.Count);
            Sample(text, Metric + "_sum", Labels(("scheduler", status.Scheduler), ("schedule", s.Name)), late.SumMs);
            Sample(text, Metric + "_count", Labels(("scheduler", status.Scheduler), ("schedule", s.Name)), late.Count);
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
