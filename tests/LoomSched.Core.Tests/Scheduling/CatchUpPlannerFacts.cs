using LoomSched.Config;
using LoomSched.Scheduling;
using LoomSched.Triggers;

namespace LoomSched.Tests.Scheduling;

public class CatchUpPlannerFacts
{
    private static readonly DateTimeOffset Epoch = DateTimeOffset.UnixEpoch;
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-27T03:00:00Z");
    private static readonly IntervalTrigger TenSeconds = new(TimeSpan.FromSeconds(10));

    private static IReadOnlyList<DateTimeOffset> Plan(CatchUpPolicy policy, double window, double lastSecondsAgo) =>
        CatchUpPlanner.MissedSlots(TenSeconds, Epoch, Now.AddSeconds(-lastSecondsAgo), Now, new CatchUpOptions(policy, window));

    [Fact]
    public void Skip_fires_nothing()
    {
        Assert.Empty(Plan(CatchUpPolicy.Skip, 3600, 60));
    }

    [Fact]
    public void Once_fires_the_latest_missed_slot()
    {
        Assert.Equal([Now], Plan(CatchUpPolicy.Once, 3600, 60));
    }

    [Fact]
    public void All_fires_every_missed_slot_in_order()
    {
        Assert.Equal([Now.AddSeconds(-50), Now.AddSeconds(-40), Now.AddSeconds(-30), Now.AddSeconds(-20), Now.AddSeconds(-10), Now],
            Plan(CatchUpPolicy.All, 3600, 60));
    }

    [Fact]
    public void All_never_reaches_further_back_than_the_window()
    {
        Assert.Equal([Now.AddSeconds(-20), Now.AddSeconds(-10), Now], Plan(CatchUpPolicy.All, 25, 3600));
    }

    [Fact]
    public void All_is_capped_so_a_long_outage_never_floods()
    {
        var slots = Plan(CatchUpPolicy.All, 30 * 86_400, 30 * 86_400);
        Assert.Equal(CatchUpPlanner.MaxSlots, slots.Count);
        Assert.Equal(Now, slots[^1]);
    }

    [Fact]
    public void Nothing_is_missed_when_the_last_slot_is_the_latest()
    {
        Assert.Empty(Plan(CatchUpPolicy.All, 3600, 0));
        Assert.Empty(Plan(CatchUpPolicy.Once, 3600, 0));
    }

    [Fact]
    public void Cron_slots_are_caught_up_too()
    {
        Assert.True(CronTrigger.TryParse("0 * * * *", TimeZoneInfo.Utc, out var hourly, out _));
        var slots = CatchUpPlanner.MissedSlots(hourly, Epoch, Now.AddHours(-3).AddMinutes(-5), Now.AddMinutes(1), new CatchUpOptions(CatchUpPolicy.All, 86_400));
        Assert.Equal([Now.AddHours(-3), Now.AddHours(-2), Now.AddHours(-1), Now], slots);
    }

    // A take-over 60 s after the recorded slot: six slots were missed while nothing ran.
    private static TakeOverPlan TakeOver(CatchUpPolicy policy, double window = 3600, bool paused = false, double waitingSecondsAgo = 0, bool leftClaimed = false) =>
        CatchUpPlanner.TakeOver(TenSeconds, Epoch, Now.AddSeconds(-60), leftClaimed, null, paused, Now,
            new CatchUpOptions(policy, window), Now.AddSeconds(-waitingSecondsAgo));

    [Theory]
    // policy, window → fired (seconds before now), passed over
    [InlineData(CatchUpPolicy.Skip, 3600, new double[0], 6)]
    [InlineData(CatchUpPolicy.Once, 3600, new double[] { 0 }, 5)]
    [InlineData(CatchUpPolicy.All, 3600, new double[] { 50, 40, 30, 20, 10, 0 }, 0)]
    [InlineData(CatchUpPolicy.All, 25, new double[] { 20, 10, 0 }, 3)]
    public void A_take_over_counts_every_slot_missed_while_nothing_ran_and_passes_over_those_its_policy_does_not_fire(
        CatchUpPolicy policy, double window, double[] firedAgo, long passedOver)
    {
        var plan = TakeOver(policy, window);

        var fired = firedAgo.Select(s => Now.AddSeconds(-s)).ToList();
        Assert.Equal(fired, plan.Slots);
        var missed = Assert.IsType<MissedWhileDown>(plan.Missed);
        Assert.Equal((6L, Now.AddSeconds(-50), Now), (missed.Count, missed.First, missed.Last));
        Assert.Equal(fired, missed.Fired);
        Assert.Equal(passedOver, missed.PassedOver);
        Assert.Equal(policy, missed.Policy);
    }

    [Fact]
    public void Slots_that_came_due_while_the_fires_waited_for_the_take_over_are_not_counted_missed()
    {
        // The fires waited from 25 s ago: the slots since came due in this process, which decides them itself.
        var plan = TakeOver(CatchUpPolicy.Once, waitingSecondsAgo: 25);

        Assert.Equal([Now], plan.Slots);
        var missed = Assert.IsType<MissedWhileDown>(plan.Missed);
        Assert.Equal((3L, Now.AddSeconds(-50), Now.AddSeconds(-30)), (missed.Count, missed.First, missed.Last));
        Assert.Empty(missed.Fired);
        Assert.Equal(3, missed.PassedOver);
    }

    [Fact]
    public void A_paused_schedule_misses_nothing_and_only_resends_the_slot_left_claimed()
    {
        var plan = TakeOver(CatchUpPolicy.All, paused: true, leftClaimed: true);

        Assert.Equal([Now.AddSeconds(-60)], plan.Slots);
        Assert.Equal(Now.AddSeconds(-60), plan.Resent);
        Assert.Null(plan.Missed);
    }

    [Fact]
    public void The_slot_left_claimed_is_sent_again_and_is_none_of_the_missed()
    {
        var plan = TakeOver(CatchUpPolicy.Once, leftClaimed: true);

        Assert.Equal([Now.AddSeconds(-60), Now], plan.Slots);
        Assert.Equal(Now.AddSeconds(-60), plan.Resent);
        Assert.Equal((6L, 5L), (plan.Missed!.Count, plan.Missed.PassedOver));
    }

    [Fact]
    public void Nothing_is_missed_without_a_recorded_slot_or_when_the_recorded_slot_is_the_latest()
    {
        Assert.Null(CatchUpPlanner.TakeOver(TenSeconds, Epoch, null, false, null, false, Now, new CatchUpOptions(CatchUpPolicy.Skip, 3600), Now).Missed);
        Assert.Null(CatchUpPlanner.TakeOver(TenSeconds, Epoch, Now, false, null, false, Now, new CatchUpOptions(CatchUpPolicy.Skip, 3600), Now).Missed);
    }

    [Fact]
    public void Cron_slots_missed_while_nothing_ran_are_counted_as_a_stall_counts_them()
    {
        Assert.True(CronTrigger.TryParse("0 * * * *", TimeZoneInfo.Utc, out var hourly, out _));
        var plan = CatchUpPlanner.TakeOver(hourly, Epoch, Now.AddHours(-5), false, null, false, Now.AddMinutes(1),
            new CatchUpOptions(CatchUpPolicy.Once, 86_400), Now.AddMinutes(1));

        Assert.Equal([Now], plan.Slots);
        Assert.Equal((5L, Now.AddHours(-4), Now, 4L), (plan.Missed!.Count, plan.Missed.First, plan.Missed.Last, plan.Missed.PassedOver));
    }
}
