using LoomSched.Config;
using LoomSched.Scheduling;
using LoomSched.Triggers;

namespace LoomSched.Tests.Scheduling;

/// <summary>The slot policy as tables: what becomes of a due slot, where the next one lies, what a stall missed.</summary>
public sealed class SlotPolicyFacts
{
    private const CatchUpPolicy Skip = CatchUpPolicy.Skip;
    private const CatchUpPolicy Once = CatchUpPolicy.Once;
    private const CatchUpPolicy All = CatchUpPolicy.All;

    private static readonly DateTimeOffset Anchor = DateTimeOffset.Parse("2026-11-27T03:00:00Z");
    private static readonly IntervalTrigger TenSeconds = new(TimeSpan.FromSeconds(10));

    private static DateTimeOffset At(double seconds) => Anchor.AddSeconds(seconds);

    private static CronTrigger Cron(string text)
    {
        Assert.True(CronTrigger.TryParse(text, TimeZoneInfo.Utc, out var trigger, out var error), error);
        return trigger;
    }

    public static TheoryData<bool, bool, bool, CatchUpPolicy?, CatchUpPolicy, string> Decisions => new()
    {
        // running, claiming, queued, queued policy, catch_up → decision (a SlotDecision, by name: the type is internal)
        // An idle schedule fires, whatever its policy.
        { false, false, false, null, Skip, "Fire" },
        { false, false, false, null, Once, "Fire" },
        { false, false, false, null, All, "Fire" },
        // A fire still running: the slot is an overlap, skipped, whatever the catch-up policy.
        { true, false, false, null, Skip, "Skip" },
        { true, false, false, null, Once, "Skip" },
        { true, false, false, null, All, "Skip" },
        // A fire still waiting for its claim: skipped under skip, else queued behind it.
        { true, true, false, null, Skip, "SkipWhileClaiming" },
        { true, true, false, null, Once, "CatchUpAfterClaim" },
        { true, true, false, null, All, "CatchUpAfterClaim" },
        // Slots already queued behind the running fire: the slot joins them; under once it replaces them.
        { true, false, true, null, Skip, "CatchUp" },
        { true, false, true, null, All, "CatchUp" },
        { true, true, true, All, Skip, "CatchUp" },
        { true, true, true, All, All, "CatchUp" },
        { true, false, true, All, Once, "CatchUp" },
        { true, true, true, Once, Once, "CatchUpLatestOnly" },
        { true, false, true, Once, Skip, "CatchUpLatestOnly" },
        { true, false, true, Once, All, "CatchUpLatestOnly" },
        // A finished fire whose queue was not yet cleared is not running: the slot fires.
        { false, false, true, All, All, "Fire" },
        { false, true, false, null, All, "Fire" },
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public void A_due_slot_fires_queues_or_is_skipped_by_what_the_schedule_is_doing(
        bool running, bool claiming, bool queued, CatchUpPolicy? queuedPolicy, CatchUpPolicy catchUp, string expected)
    {
        Assert.Equal(expected, SlotPolicy.Decide(running, claiming, queued, queuedPolicy, catchUp).ToString());
    }

    [Theory]
    // slot, now (seconds after the anchor) → next slot, missed, stalled
    [InlineData(10, 10, 20, 0, false)] // on time
    [InlineData(10, 19.999, 20, 0, false)] // late, but before the next slot
    [InlineData(10, 20, 30, 1, true)] // the next slot is due already: it is missed
    [InlineData(10, 25, 30, 1, true)]
    [InlineData(10, 39.9, 40, 2, true)]
    [InlineData(10, 40, 50, 3, true)]
    [InlineData(10, 3610, 3620, 360, true)] // an hour's stall: one fire stands for it
    [InlineData(0, 0, 10, 0, false)] // the anchor itself is not a slot: the first is one interval later
    public void An_interval_plans_its_next_slot_after_the_due_one_or_after_a_stall(
        double slot, double now, double next, long missed, bool stalled)
    {
        Assert.Equal(new SlotPlan(At(next), missed, stalled), SlotPolicy.After(TenSeconds, Anchor, At(slot), At(now)));
    }

    [Theory]
    // slot, now (seconds after the anchor), with a jitter of up to 3 s → next slot, missed, stalled
    [InlineData(10, 15, 20, 0, false)]
    [InlineData(10, 22, 20, 0, false)] // 20 may not have fired yet (its delay may be 2 s or more): planned, no stall
    [InlineData(10, 22.999, 20, 0, false)]
    [InlineData(10, 23, 30, 1, true)] // 20 + 3 s has passed: 20 surely came while the loop stalled
    [InlineData(10, 105, 110, 9, true)] // 20..100 s all passed with their delays
    public void A_jittered_schedule_counts_a_stall_only_once_the_next_slot_and_its_longest_delay_have_passed(
        double slot, double now, double next, long missed, bool stalled)
    {
        var jitter = new SlotJitter("sched", "poll", TimeSpan.FromSeconds(3));
        Assert.Equal(new SlotPlan(At(next), missed, stalled), SlotPolicy.After(TenSeconds, Anchor, At(slot), At(now), jitter));
    }

    [Fact]
    public void After_a_stall_a_jitter_longer_than_the_gap_between_slots_plans_the_first_slot_still_to_fire()
    {
        // A slot a second, delays of up to a week: slots of the last week may still be ahead of their fire time.
        var jitter = new SlotJitter("sched", "dense", TimeSpan.FromDays(7));
        var now = At(14 * 86_400);
        var plan = SlotPolicy.After(Cron("* * * * * *"), Anchor, At(0), now, jitter);

        Assert.True(plan.Stalled);
        var next = plan.Next!.Value;
        Assert.InRange(next, At(7 * 86_400 + 1), now);
        Assert.True(jitter.FireTimeOf(next) > now);
        // The first week counted as far as the cap, then every slot of the second week before the next one.
        Assert.Equal(SlotPolicy.MaxCounted + (long)(next - At(7 * 86_400)).TotalSeconds - 1, plan.Missed);
    }

    [Theory]
    // cron, slot, now (seconds after 03:00:00Z) → next slot, missed, stalled
    [InlineData("* * * * *", 60, 60, 120, 0, false)]
    [InlineData("* * * * *", 60, 119, 120, 0, false)]
    [InlineData("* * * * *", 60, 120, 180, 1, true)]
    [InlineData("* * * * *", 60, 3600, 3660, 59, true)]
    [InlineData("*/15 * * * * *", 15, 15, 30, 0, false)] // with seconds
    [InlineData("*/15 * * * * *", 15, 61, 75, 3, true)]
    [InlineData("0 4 * * *", 3600, 3600, 90000, 0, false)] // daily at 04:00: the next is tomorrow's
    [InlineData("0 4 * * *", 3600, 90000, 176400, 1, true)] // a day's stall
    public void A_cron_plans_its_next_slot_after_the_due_one_or_after_a_stall(
        string cron, double slot, double now, double next, long missed, bool stalled)
    {
        Assert.Equal(new SlotPlan(At(next), missed, stalled), SlotPolicy.After(Cron(cron), Anchor, At(slot), At(now)));
    }

    [Fact]
    public void A_cron_with_no_further_slot_plans_none_and_misses_nothing()
    {
        var leapDay = Cron("0 0 30 2 *"); // never matches
        Assert.Equal(new SlotPlan(null, 0, false), SlotPolicy.After(leapDay, Anchor, At(0), At(0)));
    }

    [Fact]
    public void A_stall_of_a_per_second_cron_counts_at_most_the_cap()
    {
        var plan = SlotPolicy.After(Cron("* * * * * *"), Anchor, At(0), At(86_400 * 3));
        Assert.Equal(SlotPolicy.MaxCounted, plan.Missed);
        Assert.Equal(At((86_400 * 3) + 1), plan.Next);
    }

    [Theory]
    // slots strictly after, up to and including
    [InlineData(0, 0, 0)]
    [InlineData(0, 9.9, 0)]
    [InlineData(0, 10, 1)]
    [InlineData(5, 10, 1)]
    [InlineData(10, 10, 0)]
    [InlineData(10, 100, 9)]
    [InlineData(-25, 5, 2)] // before the grid began (a clock set back): counted from the anchor on
    public void Interval_slots_are_counted_from_the_grid(double after, double upTo, long count)
    {
        Assert.Equal(count, SlotPolicy.CountSlots(TenSeconds, Anchor, At(after), At(upTo)));
    }

    [Theory]
    // slot, now (seconds), window (seconds; negative: an operator's catch-up run without a policy) → still wanted
    [InlineData(0, 0, 60, true)]
    [InlineData(0, 60, 60, true)] // exactly at the window's edge
    [InlineData(0, 60.001, 60, false)]
    [InlineData(0, 3600, 3600, true)]
    [InlineData(0, 3601, 3600, false)]
    [InlineData(0, 86_400, -1, true)] // an operator's catch-up keeps every slot
    public void A_queued_slot_still_fires_within_its_catch_up_window(double slot, double now, double window, bool wanted)
    {
        var policy = window < 0 ? null : new CatchUpOptions(CatchUpPolicy.All, window);
        Assert.Equal(wanted, SlotPolicy.StillWanted(At(slot), At(now), policy));
    }

    [Theory]
    // now (seconds after the anchor) → where the ten-second grid starts
    [InlineData(0.001, 0)] // after the anchor: the grid stands
    [InlineData(3600, 0)]
    [InlineData(0, -10)] // at the anchor: the anchor is not a slot, so the grid starts a period earlier
    [InlineData(-5, -10)]
    [InlineData(-10, -20)]
    [InlineData(-25, -30)]
    public void A_clock_set_back_before_an_interval_grid_extends_it_back_by_whole_periods(double now, double start)
    {
        Assert.Equal(At(start), SlotPolicy.GridStartBefore(TimeSpan.FromSeconds(10), Anchor, At(now)));
    }
}
