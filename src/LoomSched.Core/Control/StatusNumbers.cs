using System.Globalization;
using System.Text.Json;
using LoomSched.Scheduling;

namespace LoomSched.Control;

/// <summary>
/// A <c>status</c> reduced to the numbers its metrics show, keyed by the reply's own field names. The daemon makes it
/// from its engine (<see cref="Of(SchedulerStatus, PublishCounters?)"/>), <c>status --format prometheus</c> reads it
/// back from a reply (<see cref="Read"/>): both give <see cref="StatusMetrics"/> the same numbers.
/// </summary>
/// <param name="Scheduler">The scheduler's name.</param>
/// <param name="Daemon">The daemon's numbers by field (<c>published</c> … <c>uptime_seconds</c>); a field not reported is absent.</param>
/// <param name="LateBoundsMs">The bounds of every schedule's lateness buckets; null when the reply has none.</param>
/// <param name="Schedules">Per schedule, in the reply's order.</param>
public sealed record StatusNumbers(
    string Scheduler, IReadOnlyDictionary<string, double> Daemon, IReadOnlyList<double>? LateBoundsMs, IReadOnlyList<ScheduleNumbers> Schedules)
{
    /// <summary>How the reply writes a fractional number: to three decimals (a microsecond of a millisecond count).</summary>
    public static double Rounded(double value) => Math.Round(value, 3);

    /// <summary>The numbers of the engine's snapshot and the publisher's counters (none while the publisher starts).</summary>
    public static StatusNumbers Of(SchedulerStatus status, PublishCounters? publisher)
    {
        var daemon = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (field, value) in publisher?.Fields() ?? [])
        {
            daemon[field] = value;
        }
        daemon["uptime_seconds"] = Rounded(status.Uptime.TotalSeconds);
        var schedules = new List<ScheduleNumbers>(status.Schedules.Count);
        foreach (var s in status.Schedules)
        {
            var counters = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var (field, value) in Counters(s))
            {
                counters[field] = value;
            }
            if (s.LastLatenessMs is { } late)
            {
                counters["last_late_ms"] = Rounded(late);
            }
            var lateness = s.Lateness is { } l ? new LatenessNumbers([.. l.AtMost.Select(n => (double)n)], l.Count, Rounded(l.SumMs)) : null;
            schedules.Add(new ScheduleNumbers(s.Name, counters, lateness, s.Paused, s.NextFire));
        }
        return new StatusNumbers(status.Name, daemon, LatenessHistogram.BoundsMs, schedules);
    }

    /// <summary>A schedule's counters, by the fields the <c>status</c> reply writes them under, in its order.</summary>
    public static (string Field, long Value)[] Counters(ScheduleStatus s) =>
    [
        ("fires", s.Fires), ("dispatched", s.Dispatched), ("dropped", s.Dropped), ("errors", s.Errors),
        ("skipped", s.Skipped), ("missed", s.Missed), ("not_claimed", s.NotClaimed),
    ];

    /// <summary>The numbers of an answered <c>status</c> reply; what it lacks is absent.</summary>
    public static StatusNumbers Read(JsonElement reply)
    {
        string scheduler = reply.TryGetProperty("scheduler", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString()! : "";
        var daemon = Numbers(reply);
        IReadOnlyList<double>? bounds = reply.TryGetProperty("late_ms_bounds", out var boundList) && boundList.ValueKind == JsonValueKind.Array
            ? [.. boundList.EnumerateArray().Select(b => b.GetDouble())]
            : null;
        var schedules = new List<ScheduleNumbers>();
        if (reply.TryGetProperty("schedules", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var s in list.EnumerateArray())
            {
                var lateness = s.TryGetProperty("late_ms", out var late) && late.ValueKind == JsonValueKind.Object
                    ? new LatenessNumbers(
                        [.. late.GetProperty("at_most").EnumerateArray().Select(n => n.GetDouble())],
                        late.GetProperty("count").GetDouble(), late.GetProperty("sum").GetDouble())
                    : null;
                DateTimeOffset? next = s.TryGetProperty("next_fire", out var at) && at.ValueKind == JsonValueKind.String
                    && DateTimeOffset.TryParse(at.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
                    ? parsed : null;
                schedules.Add(new ScheduleNumbers(s.GetProperty("name").GetString()!, Numbers(s), lateness,
                    s.TryGetProperty("paused", out var paused) && paused.ValueKind == JsonValueKind.True, next));
            }
        }
        return new StatusNumbers(scheduler, daemon, bounds, schedules);
    }

    /// <summary>An object's numeric properties by name (the writer picks those it knows).</summary>
    private static Dictionary<string, double> Numbers(JsonElement json)
    {
        var numbers = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var property in json.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Number)
            {
                numbers[property.Name] = property.Value.GetDouble();
            }
        }
        return numbers;
    }
}

/// <summary>One schedule's numbers in a <see cref="StatusNumbers"/>.</summary>
/// <param name="Name">The schedule's name.</param>
/// <param name="Counters">Its counters and gauges by field (<c>fires</c> … <c>last_late_ms</c>); one not reported is absent.</param>
/// <param name="Lateness">How late its scheduled fires started, in buckets; null when not reported.</param>
/// <param name="Paused">True while paused.</param>
/// <param name="NextFire">When it fires next; null when it has no next slot.</param>
public sealed record ScheduleNumbers(
    string Name, IReadOnlyDictionary<string, double> Counters, LatenessNumbers? Lateness, bool Paused, DateTimeOffset? NextFire);

/// <summary>A lateness histogram's numbers: per bound the fires no later than it, every fire, and their sum.</summary>
/// <param name="AtMost">Per bound of <see cref="StatusNumbers.LateBoundsMs"/>, the fires no later than it.</param>
/// <param name="Count">Every fire counted.</param>
/// <param name="SumMs">Their lateness added up, in milliseconds.</param>
public sealed record LatenessNumbers(IReadOnlyList<double> AtMost, double Count, double SumMs);

/// <summary>The publisher's counters as <c>status</c> reports them.</summary>
/// <param name="Published">Messages confirmed by the server (or the stream).</param>
/// <param name="Pending">Messages waiting to be sent or confirmed.</param>
/// <param name="MaxPending">The publish buffer's bound.</param>
/// <param name="Dropped">Messages dropped because the buffer was full while NATS was away.</param>
/// <param name="PublishErrors">Messages the server refused.</param>
/// <param name="Resent">Messages sent again after a reconnect.</param>
public readonly record struct PublishCounters(long Published, long Pending, long MaxPending, long Dropped, long PublishErrors, long Resent)
{
    /// <summary>The counters, by the fields the <c>status</c> reply writes them under, in its order.</summary>
    public (string Field, long Value)[] Fields() =>
    [
        ("published", Published), ("pending", Pending), ("max_pending", MaxPending),
        ("dropped", Dropped), ("publish_errors", PublishErrors), ("resent", Resent),
    ];

    /// <summary>Writes the counters as the <c>status</c> reply's properties.</summary>
    public void WriteTo(Utf8JsonWriter w)
    {
        foreach (var (field, value) in Fields())
        {
            w.WriteNumber(field, value);
        }
    }
}
