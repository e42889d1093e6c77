using LoomSched.Scheduling;
using LoomSched.Tests.Support;

namespace LoomSched.Tests.Scheduling;

public class UpcomingSlotsFacts
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-03-28T10:15:00Z");

    [Fact]
    public void Cron_slots_are_listed_in_the_entry_zone()
    {
        // Berlin switches to summer time on 2026-03-29: the offset changes between the two slots.
        var slots = UpcomingSlots.Of(TestSchedules.Cron("nine", "0 9 * * *", "Europe/Berlin"), Now, 2);
        Assert.Equal(["2026-03-29T09:00:00+02:00", "2026-03-30T09:00:00+02:00"], slots.Select(s => s.ToString("yyyy-MM-ddTHH:mm:sszzz")));
        Assert.Equal(DateTimeOffset.Parse("2026-03-29T07:00:00Z"), slots[0]);
    }

    [Fact]
    public void Interval_slots_count_from_the_start()
    {
        var slots = UpcomingSlots.Of(TestSchedules.Interval("poll", 30), Now, 3);
        Assert.Equal([Now.AddSeconds(30), Now.AddSeconds(60), Now.AddSeconds(90)], slots);
        Assert.All(slots, s => Assert.Equal(TimeSpan.Zero, s.Offset));
    }

    [Fact]
    public void Jittered_fires_are_listed_in_slot_order_a_slot_waiting_for_the_one_before_as_the_engine_fires_them()
    {
        var schedule = LoomSched.Config.ConfigLoader.LoadText(
            "name: t\nschedules:\n  - {name: j, cron: \"* * * * * *\", jitter_seconds: 3, goal: {instruction: x}}\n", "t.yaml").Config!.Schedules[0];
        var slots = UpcomingSlots.Of(schedule, Now, 200);

        var fires = UpcomingSlots.FireTimes(schedule, slots);

        // Jitter alone would put some slot before the one ahead of it; the listing does not.
        Assert.Contains(Enumerable.Range(1, slots.Count - 1), i => schedule.FireTimeOf(slots[i]) < schedule.FireTimeOf(slots[i - 1]));
        for (int i = 0; i < slots.Count; i++)
        {
            var own = schedule.FireTimeOf(slots[i]);
            Assert.Equal(i > 0 && fires[i - 1] > own ? fires[i - 1] : own, fires[i]);
        }
    }

    [Fact]
    public void A_cron_without_further_slots_yields_fewer()
    {
        // 30 February never comes.
        Assert.Empty(UpcomingSlots.Of(TestSchedules.Cron("never", "0 0 30 2 *"), Now, 5));
    }
}
