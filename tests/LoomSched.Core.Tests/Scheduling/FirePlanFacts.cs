using LoomSched.Config;
using LoomSched.Scheduling;

namespace LoomSched.Tests.Scheduling;

/// <summary><c>loomsched plan</c>'s counts: fires per minute and second, peaks, and what jitter makes of a herd.</summary>
public sealed class FirePlanFacts
{
    private static readonly DateTimeOffset Evening = new(2027, 3, 1, 23, 30, 20, TimeSpan.Zero);

    private static SchedulerConfig Config(string entries)
    {
        var result = ConfigLoader.LoadText($"name: plans\nschedules:\n{entries}", "plan.yaml");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return result.Config!;
    }

    private static string Herd(int count) => string.Concat(Enumerable.Range(0, count).Select(i =>
        $"  - name: nightly{i}\n    cron: \"0 0 * * *\"\n    task: {{worker_type: w}}\n"));

    [Fact]
    public void A_thousand_crons_at_midnight_are_one_minute_and_one_second_of_a_thousand_fires()
    {
        var plan = FirePlan.Of(Config(Herd(1000)), Evening, TimeSpan.FromHours(1));

        Assert.Equal(new DateTimeOffset(2027, 3, 1, 23, 30, 0, TimeSpan.Zero), plan.From); // whole minutes
        Assert.Equal(60, plan.FiresPerMinute.Length);
        Assert.Equal(1000, plan.Fires);
        var peak = Assert.Single(plan.PeakMinutes(5));
        Assert.Equal((new DateTimeOffset(2027, 3, 2, 0, 0, 0, TimeSpan.Zero), 1000), peak);
        Assert.Equal(1000, plan.BusiestSecond.Fires);
        Assert.Equal(peak.At, plan.BusiestSecond.At);
    }

    [Fact]
    public void Jitter_spreads_a_herd_over_its_window_and_keeps_every_fire()
    {
        var config = Config(Herd(1000));

        var spread = FirePlan.Of(config, Evening, TimeSpan.FromHours(1), jitterIfNone: TimeSpan.FromSeconds(60));

        Assert.Equal(1000, spread.Fires);
        Assert.Equal(1000, spread.FiresPerMinute[30]); // 00:00–00:01: the window is the minute
        // A thousand delays in 60 seconds: about 17 a second; a hash is no even spread, but far from a herd.
        Assert.InRange(spread.BusiestSecond.Fires, 17, 40);
        Assert.Equal(spread.BusiestSecond.Fires, FirePlan.Of(config, Evening, TimeSpan.FromHours(1), TimeSpan.FromSeconds(60)).BusiestSecond.Fires);
    }

    [Fact]
    public void Intervals_count_from_the_plans_start_and_an_expanding_schedule_is_counted_apart()
    {
        var plan = FirePlan.Of(Config("""
              - name: every20s
                interval_seconds: 20
                task: {worker_type: w}
              - name: fanned
                interval_seconds: 60
                expand_from: range
                expand_args: {count: 3}
                task: {worker_type: w}
            """), Evening, TimeSpan.FromMinutes(10));

        // From 23:30:20: every 20 s at 23:30:40, 23:31:00, … up to 23:39:40 (28 slots); every 60 s from 23:31:20 (9).
        Assert.Equal(28 + 9, plan.Fires);
        Assert.Equal(1, plan.FiresPerMinute[0]);
        Assert.Equal(4, plan.FiresPerMinute[1]);
        Assert.Equal(9, plan.ExpandingPerMinute.Sum());
        Assert.Equal(0, plan.ExpandingPerMinute[0]);
    }

    [Fact]
    public void Disabled_schedules_and_slots_outside_a_window_or_the_horizon_do_not_count()
    {
        var plan = FirePlan.Of(Config("""
              - name: disabled
                interval_seconds: 1
                enabled: false
                task: {worker_type: w}
              - name: windowed
                interval_seconds: 60
                start_at: 2027-03-01T23:35:00Z
                end_at: 2027-03-01T23:38:00Z
                task: {worker_type: w}
              - name: once
                at: 2027-03-02T05:00:00Z
                task: {worker_type: w}
            """), Evening, TimeSpan.FromHours(1));

        Assert.Equal(3, plan.Fires); // 23:35, 23:36, 23:37
        Assert.Equal([5, 6, 7], plan.FiresPerMinute.Select((f, i) => (f, i)).Where(m => m.f > 0).Select(m => m.i));
    }

    [Fact]
    public void A_millisecond_interval_is_counted_up_to_the_cap_and_named()
    {
        var plan = FirePlan.Of(Config("""
              - name: fast
                interval_seconds: 0.001
                task: {worker_type: w}
            """), Evening, TimeSpan.FromHours(1));

        Assert.Equal(FirePlan.SlotCap, plan.Fires);
        Assert.Equal(["fast"], plan.Capped);
    }

    [Fact]
    public void A_plan_with_nothing_due_has_no_peak()
    {
        var plan = FirePlan.Of(Config(Herd(3)), Evening, TimeSpan.FromMinutes(20));

        Assert.Equal(0, plan.Fires);
        Assert.Empty(plan.PeakMinutes(5));
        Assert.Equal(0, plan.BusiestSecond.Fires);
    }
}
