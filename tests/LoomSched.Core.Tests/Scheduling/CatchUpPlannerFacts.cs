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
}
