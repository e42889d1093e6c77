using LoomSched.Config;
using LoomSched.Triggers;

namespace LoomSched.Tests.Support;

/// <summary>Builds definitions directly, so engine and message tests do not depend on the YAML loader.</summary>
internal static class TestSchedules
{
    public static ScheduleDefinition Interval(
        string name, double seconds, string? expandFrom = null, int maxExpansion = 100_000,
        double expandTimeoutSeconds = 30, IReadOnlyDictionary<string, object?>? payload = null, CatchUpOptions? catchUp = null,
        ITrigger? trigger = null) => new()
    {
        CatchUp = catchUp,
        Name = name,
        Interval = TimeSpan.FromSeconds(seconds),
        Trigger = trigger ?? new IntervalTrigger(TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond))),
        Template = new TaskTemplate("worker", payload ?? Map(("check", "system_status")), ModelTier.Local, Priority.Low),
        ExpandFrom = expandFrom,
        MaxExpansion = maxExpansion,
        ExpandTimeout = TimeSpan.FromSeconds(expandTimeoutSeconds),
        Fingerprint = $"interval:{name}:{seconds}:{expandFrom}",
    };

    public static ScheduleDefinition Cron(string name, string cron, string zone = "UTC")
    {
        var tz = TimeZoneInfo.FindSystemTimeZoneById(zone);
        Assert.True(CronTrigger.TryParse(cron, tz, out var trigger, out var error), error);
        return new ScheduleDefinition
        {
            Name = name,
            Cron = cron,
            TimeZone = tz,
            Trigger = trigger,
            Template = new GoalTemplate("Summarize", Map(("source", "incoming_docs")), Priority.Normal),
            Fingerprint = $"cron:{name}:{cron}:{zone}",
        };
    }

    public static SchedulerConfig Config(params ScheduleDefinition[] schedules) => new()
    {
        Name = "test_scheduler",
        Schedules = schedules,
    };

    /// <summary>A config on today's heddle wire: subject prefix heddle, every message in a WireEnvelope.</summary>
    public static SchedulerConfig Enveloped(params ScheduleDefinition[] schedules) => new()
    {
        Name = "test_scheduler",
        SubjectPrefix = "heddle",
        Wire = WireFormat.Envelope,
        Schedules = schedules,
    };

    public static IReadOnlyDictionary<string, object?> Map(params (string Key, object? Value)[] pairs)
    {
        var map = new OrderedDictionary<string, object?>();
        foreach (var (k, v) in pairs)
        {
            map.Add(k, v);
        }
        return map;
    }
}
