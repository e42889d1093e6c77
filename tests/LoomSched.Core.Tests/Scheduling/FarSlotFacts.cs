using LoomSched.Scheduling;
using LoomSched.Tests.Support;
using LoomSched.Triggers;
using Microsoft.Extensions.Logging;

namespace LoomSched.Tests.Scheduling;

/// <summary>
/// Slots at any distance: months and years away, none at all, past the calendar's end; and a schedule whose trigger
/// faults keeps the fault to itself. Regressions of the crash of a config whose only slot was more than 49.7 days
/// away (a timer's range), and of the cases the generated runs (<see cref="EnginePropertyFacts"/>) shrank to.
/// </summary>
public sealed class FarSlotFacts() : EngineHarness(T0)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-07T10:00:00Z");

    [Fact]
    public async Task A_config_whose_only_slot_is_months_away_waits_for_it_and_fires_on_time()
    {
        var engine = Start(null, TestSchedules.Cron("summer", "0 0 1 6 *"));
        await Settle();
        Assert.Equal(DateTimeOffset.Parse("2027-06-01T00:00:00Z"), StatusOf("summer").NextFire);

        await AdvanceAsync(DateTimeOffset.Parse("2027-06-01T00:00:00Z") - T0, TimeSpan.FromDays(10));
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the summer fire");
        Assert.Equal("2027-06-01T00:00:00Z", Port.Seen[0].Message.ScheduledFor);
        Assert.Equal(DateTimeOffset.Parse("2028-06-01T00:00:00Z"), StatusOf("summer").NextFire);
        Assert.False(Loop!.IsCompleted);
        Assert.Equal(0, StatusOf("summer").Missed);
        Assert.Same(engine, Engine);
    }

    [Fact]
    public async Task Pausing_the_only_frequent_schedule_leaves_the_loop_waiting_for_a_leap_day_years_away()
    {
        var engine = Start(null, TestSchedules.Interval("poll", 1), TestSchedules.Cron("leap", "0 0 29 2 *"));
        await AdvanceAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1));
        Assert.True(engine.Pause("poll").Ok);

        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1));
        Assert.False(Loop!.IsCompleted);
        Assert.Equal(DateTimeOffset.Parse("2028-02-29T00:00:00Z"), StatusOf("leap").NextFire);

        Clock.Advance(DateTimeOffset.Parse("2028-02-29T00:00:00Z") - Clock.GetUtcNow());
        await Settle();
        await RecordingPort.Eventually(() => Port.Of("leap").Count == 1, "the leap-day fire");
        Assert.Equal("2028-02-29T00:00:00Z", Port.Of("leap")[0].ScheduledFor);
        Assert.Equal(DateTimeOffset.Parse("2032-02-29T00:00:00Z"), StatusOf("leap").NextFire);
    }

    [Fact]
    public async Task A_schedule_reloaded_to_a_leap_day_cron_waits_months_without_a_fault()
    {
        // Shrunk by the generated runs from case 42 of seed 20261207 before the fix.
        var engine = Start(null, TestSchedules.Interval("s0", 1), TestSchedules.Interval("s1", 0.1833));
        await Settle();
        engine.Reload(TestSchedules.Config(TestSchedules.Cron("s1", "0 0 29 2 *")));
        await Settle();
        Clock.Advance(TimeSpan.FromDays(92));
        await Settle();
        Assert.False(Loop!.IsCompleted);
        Assert.Equal(DateTimeOffset.Parse("2028-02-29T00:00:00Z"), StatusOf("s1").NextFire);
    }

    [Fact]
    public async Task Crons_that_never_fire_leave_the_loop_asleep_without_a_timer()
    {
        Start(null, TestSchedules.Cron("never", "0 0 30 2 *"));
        await Settle();
        Assert.Null(StatusOf("never").NextFire);
        Assert.Equal(DateTimeOffset.MaxValue.UtcTicks, Engine!.SleepingUntilTicks);
        Clock.Advance(TimeSpan.FromDays(3 * 366));
        await Settle();
        Assert.False(Loop!.IsCompleted);
        Assert.Empty(Port.Seen);
    }

    [Theory]
    [InlineData("9999-12-31T23:59:59Z", 3600.0)]
    [InlineData("9999-12-31T00:00:00Z", 86_400.0 * 400)]
    [InlineData("0001-01-01T00:00:00Z", 3_155_760_000.0)]
    public void An_interval_slot_past_the_calendar_end_is_none_not_an_overflow(string anchor, double seconds)
    {
        var trigger = new IntervalTrigger(TimeSpan.FromSeconds(seconds));
        var start = DateTimeOffset.Parse(anchor);
        var last = trigger.NextAfter(DateTimeOffset.MaxValue.AddTicks(-1), start);
        Assert.Null(last);
        var slots = UpcomingSlots.Of(TestSchedules.Interval("far", seconds), start, 10_000);
        Assert.All(slots, s => Assert.True(s > start));
        Assert.True(slots.Count < 10_000 || seconds < 3600 * 2);
    }

    [Theory]
    [InlineData("0 0 29 2 *")]
    [InlineData("* * * * *")]
    [InlineData("59 23 31 12 *")]
    [InlineData("@every_second")]
    public void A_cron_slot_past_the_calendar_end_is_none_not_an_exception(string cron)
    {
        Assert.True(CronTrigger.TryParse(cron, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"), out var trigger, out _));
        Assert.Null(trigger.NextAfter(DateTimeOffset.Parse("9999-12-31T23:59:59Z"), default));
    }

    /// <summary>A trigger that throws from a given instant on (a stand-in for any fault in planning one schedule).</summary>
    private sealed class FaultingTrigger(DateTimeOffset from) : ITrigger
    {
        private readonly IntervalTrigger _inner = new(TimeSpan.FromSeconds(10));

        public DateTimeOffset? NextAfter(DateTimeOffset instant, DateTimeOffset anchor) =>
            instant >= from ? throw new InvalidOperationException("planning failed") : _inner.NextAfter(instant, anchor);

        public string Describe() => "faulting";
    }

    [Fact]
    public async Task A_schedule_whose_planning_faults_is_counted_and_retried_while_the_others_keep_their_slots()
    {
        var log = new RecordingLogger();
        var faulty = TestSchedules.Interval("faulty", 10, trigger: new FaultingTrigger(T0.AddSeconds(15)));
        var engine = StartWith(new EngineOptions { LoggerFactory = log }, faulty, TestSchedules.Interval("steady", 5));

        await AdvanceAsync(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));
        Assert.False(Loop!.IsCompleted);
        Assert.Equal(6, Port.Of("steady").Count);
        var status = StatusOf("faulty");
        Assert.Equal(2, status.Fires); // its slots at 10 and 20 s fired; planning the one after 20 s faulted
        Assert.Equal(1, status.Errors);
        Assert.Null(status.NextFire);
        Assert.Contains("planning failed", status.LastError);
        var line = Assert.Single(log.Lines, l => l.Level == LogLevel.Error);
        Assert.Contains("schedule faulty faulted: InvalidOperationException: planning failed", line.Text);

        // A minute later it is planned again (and faults again: counted once more, never the loop's end).
        await AdvanceAsync(SchedulerEngine.FaultRetry, TimeSpan.FromSeconds(5));
        Assert.Equal(2, StatusOf("faulty").Errors);
        Assert.Equal(18, Port.Of("steady").Count);
        Assert.Same(engine, Engine);
    }
}
