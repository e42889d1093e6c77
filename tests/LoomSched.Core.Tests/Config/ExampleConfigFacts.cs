using LoomSched.Config;
using LoomSched.Triggers;

namespace LoomSched.Core.Tests.Config;

public sealed class ExampleConfigFacts
{
    private static string ConfigPath(string name) => Path.Combine(AppContext.BaseDirectory, "config", name);

    [Fact]
    public void Loom_example_loads_unchanged_into_the_exact_model()
    {
        var result = ConfigLoader.LoadFile(ConfigPath("loom.example.yaml"));

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Empty(result.Notes);
        var config = result.Config!;
        Assert.Equal("default_scheduler", config.Name);
        Assert.Equal("loom", config.SubjectPrefix);
        Assert.Equal(TimeZoneInfo.Utc, config.TimeZone);
        Assert.Equal(ControlActions.All, config.AllowedControl);
        Assert.Equal(10_000, config.MaxPending);
        Assert.Equal(PublishMode.Core, config.Publish);
        Assert.Equal("loom.scheduler.default_scheduler", config.ControlSubject);
        Assert.Equal(2, config.Schedules.Count);

        var hourly = config.Schedules[0];
        Assert.Equal("hourly_summarize", hourly.Name);
        Assert.Equal("0 * * * *", hourly.Cron);
        Assert.Null(hourly.Interval);
        Assert.IsType<CronTrigger>(hourly.Trigger);
        var goal = Assert.IsType<GoalTemplate>(hourly.Template);
        Assert.Equal("Summarize all new documents from the last hour", goal.Instruction);
        Assert.Equal([new KeyValuePair<string, object?>("source", "incoming_docs")], goal.Context);
        Assert.Equal(Priority.Normal, goal.Priority);
        Assert.Null(hourly.ExpandFrom);
        Assert.Empty(hourly.ExpandArgs);
        Assert.Equal(new SourceLocation(ConfigPath("loom.example.yaml"), 3, 5), hourly.Location);

        var health = config.Schedules[1];
        Assert.Equal("every_5m_healthcheck", health.Name);
        Assert.Null(health.Cron);
        Assert.Equal(TimeSpan.FromSeconds(300), health.Interval);
        Assert.Equal(TimeSpan.FromSeconds(300), Assert.IsType<IntervalTrigger>(health.Trigger).Interval);
        var task = Assert.IsType<TaskTemplate>(health.Template);
        Assert.Equal("health_checker", task.WorkerType);
        Assert.Equal([new KeyValuePair<string, object?>("check", "system_status")], task.Payload);
        Assert.Equal(ModelTier.Local, task.ModelTier);
        Assert.Equal(Priority.Low, task.Priority);
    }

    [Fact]
    public void Rich_example_loads_with_every_feature()
    {
        var result = ConfigLoader.LoadFile(ConfigPath("scheduler.example.yaml"));

        Assert.True(result.Success, string.Join("\n", result.Errors));
        var config = result.Config!;
        Assert.Equal("edge_scheduler", config.Name);
        Assert.Equal(ControlActions.All, config.AllowedControl);
        Assert.Equal(new CoordinationOptions(CoordinationMode.None, "loomsched_lease", "loomsched_state", 15), config.Coordination);
        Assert.Equal(CatchUpOptions.Default, config.CatchUp);

        var byName = config.Schedules.ToDictionary(s => s.Name);
        Assert.Equal("Europe/Berlin", byName["berlin_morning_report"].TimeZone.Id);
        Assert.Equal(new CatchUpOptions(CatchUpPolicy.Once, 3600), byName["berlin_morning_report"].CatchUp);
        Assert.IsType<TaskTemplate>(byName["every_5m_healthcheck"].Template);
        Assert.Equal(TimeSpan.FromSeconds(2.5), byName["fast_poll"].Interval);

        var merged = Assert.IsType<TaskTemplate>(byName["every_minute_at_15s"].Template);
        Assert.Equal(("health_checker", ModelTier.Local, Priority.Low), (merged.WorkerType, merged.ModelTier, merged.Priority));
        Assert.Equal("heartbeat", merged.Payload["check"]);

        var shards = byName["shard_rebalance"];
        Assert.Equal("range", shards.ExpandFrom);
        Assert.Equal(3L, shards.ExpandArgs["count"]);
        Assert.Equal(TimeSpan.FromSeconds(5), shards.ExpandTimeout);
        Assert.Equal(10, shards.MaxExpansion);

        // Its six-field cron says how it reads (cron_seconds: first): nothing to note.
        Assert.Empty(result.Notes);
    }
}
