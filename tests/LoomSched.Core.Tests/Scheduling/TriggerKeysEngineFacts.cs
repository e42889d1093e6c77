using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;

namespace LoomSched.Tests.Scheduling;

/// <summary>The engine on a fake clock with enabled, at, start_at/end_at and jitter_seconds, loaded from YAML.</summary>
public sealed class TriggerKeysEngineFacts() : EngineHarness(T0)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2027-03-01T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static string Slot(double seconds) => LoomTime.Format(T0.AddSeconds(seconds));

    private static SchedulerConfig Config(string entries)
    {
        var result = ConfigLoader.LoadText($"name: sched\nschedules:\n{entries}", "t.yaml");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return result.Config!;
    }

    private static string Entry(string name, string keys) => $"  - name: {name}\n{keys}    task: {{worker_type: w}}\n";

    private SchedulerEngine Run(string entries) => StartWith(Config(entries), new EngineOptions { LoggerFactory = new RecordingLogger() });

    private static IReadOnlyList<string> Slots(IEnumerable<DispatchMessage> messages) => [.. messages.Select(m => m.ScheduledFor)];

    [Fact]
    public async Task A_disabled_schedule_never_fires_and_shows_as_disabled()
    {
        var engine = Run(Entry("dormant", "    interval_seconds: 1\n    enabled: false\n") + Entry("active", "    interval_seconds: 1\n"));
        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1));

        Assert.Empty(Port.Of("dormant"));
        Assert.Equal(5, Port.Of("active").Count);
        var dormant = StatusOf("dormant");
        Assert.False(dormant.Enabled);
        Assert.False(dormant.Done);
        Assert.Null(dormant.NextFire);
        Assert.True(StatusOf("active").Enabled);
        var refused = engine.Trigger("dormant");
        Assert.False(refused.Ok);
        Assert.Contains("disabled", refused.Message, StringComparison.Ordinal);
        Assert.True(engine.Resume("dormant").Ok);
        Assert.Null(StatusOf("dormant").NextFire);
        Assert.False(engine.CatchUp("dormant", [T0.AddSeconds(1)]).Message.Contains("catches up", StringComparison.Ordinal));
        await AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));
        Assert.Empty(Port.Of("dormant"));
    }

    [Fact]
    public async Task A_one_shot_fires_once_at_its_instant_and_is_then_done()
    {
        Run(Entry("once", $"    at: {Slot(2.5)}\n"));
        await Settle();
        Assert.Equal(T0.AddSeconds(2.5), StatusOf("once").NextFire);
        Assert.False(StatusOf("once").Done);

        await AdvanceAsync(TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500));

        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the one fire");
        Assert.Equal([Slot(2.5)], Slots(Port.Of("once")));
        var status = StatusOf("once");
        Assert.True(status.Done);
        Assert.Null(status.NextFire);
        Assert.Equal(1, status.Fires);
        Assert.Equal("once at " + Slot(2.5), status.Trigger);
    }

    [Fact]
    public async Task A_one_shot_whose_instant_passed_before_the_start_never_fires()
    {
        Run(Entry("missed", $"    at: {Slot(-60)}\n"));
        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1));

        Assert.Empty(Port.Seen);
        var status = StatusOf("missed");
        Assert.True(status.Done);
        Assert.Equal(0, status.Fires);
        Assert.Equal(0, status.Missed);
    }

    [Fact]
    public async Task An_interval_with_a_window_fires_on_the_grid_of_its_start_and_stops_at_its_end()
    {
        Run(Entry("win", $"    interval_seconds: 10\n    start_at: {Slot(25)}\n    end_at: {Slot(55)}\n"));
        await Settle();
        Assert.Equal(T0.AddSeconds(25), StatusOf("win").NextFire);

        await AdvanceAsync(TimeSpan.FromSeconds(80), TimeSpan.FromSeconds(5));

        // 55 s is the end: not in [25 s, 55 s).
        await RecordingPort.Eventually(() => Port.Seen.Count == 3, "three fires");
        Assert.Equal([Slot(25), Slot(35), Slot(45)], Slots(Port.Of("win")));
        Assert.True(StatusOf("win").Done);
        Assert.Null(StatusOf("win").NextFire);
    }

    [Fact]
    public async Task A_jittered_slot_fires_after_its_delay_and_keeps_the_slot_in_its_message()
    {
        var config = Config(Entry("spread", "    interval_seconds: 60\n    jitter_seconds: 30\n"));
        var definition = config.Schedules[0];
        var delay = definition.Jitter!.DelayOf(T0.AddSeconds(60));
        StartWith(config, new EngineOptions { LoggerFactory = new RecordingLogger() });
        await Settle();
        Assert.Equal(T0.AddSeconds(60), StatusOf("spread").NextSlot);
        Assert.Equal(T0.AddSeconds(60) + delay, StatusOf("spread").NextFire);

        Clock.Advance(TimeSpan.FromSeconds(60) + delay - TimeSpan.FromMilliseconds(1));
        await Settle();
        Assert.Empty(Port.Seen);
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        await Settle();

        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the jittered fire");
        var (message, at) = Port.Seen[0];
        Assert.Equal(Slot(60), message.ScheduledFor);
        Assert.Equal(T0.AddSeconds(60) + delay, at);
        Assert.Equal($"sched/spread/{Slot(60)}/0", message.MessageId);
        var status = StatusOf("spread");
        Assert.Equal(0, status.LastLatenessMs);
        Assert.Equal(T0.AddSeconds(60), status.LastSlot);
    }

    [Fact]
    public async Task A_jitter_longer_than_the_gap_between_cron_slots_fires_every_slot_in_slot_order()
    {
        Run(Entry("dense", "    cron: \"* * * * * *\"\n    jitter_seconds: 5\n"));
        await AdvanceAsync(TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));

        var slots = Slots(Port.Of("dense"));
        Assert.True(slots.Count >= 24, $"{slots.Count} fires in 30 s");
        Assert.Equal(Enumerable.Range(1, slots.Count).Select(k => Slot(k)), slots);
        var status = StatusOf("dense");
        Assert.Equal(0, status.Missed);
        Assert.Equal(0, status.Skipped);
    }

    [Fact]
    public async Task After_a_stall_a_jittered_schedule_fires_once_and_counts_the_rest_missed()
    {
        Run(Entry("poll", "    interval_seconds: 10\n    jitter_seconds: 3\n"));
        await Settle();
        Clock.Advance(TimeSpan.FromSeconds(105));
        await Settle();

        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "one fire for the stall");
        await Task.Delay(50);
        Assert.Single(Port.Seen);
        var status = StatusOf("poll");
        // Slots 10..100 s have all passed with their delays (100 + 3 ≤ 105): one fired, nine missed.
        Assert.Equal(9, status.Missed);
        Assert.Equal(T0.AddSeconds(110), status.NextSlot);
    }
}
