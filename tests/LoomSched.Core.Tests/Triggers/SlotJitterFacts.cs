using LoomSched.Triggers;

namespace LoomSched.Tests.Triggers;

public class SlotJitterFacts
{
    private static readonly DateTimeOffset T0 = new(2027, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Every_delay_lies_in_zero_to_the_maximum()
    {
        var jitter = new SlotJitter("sched", "nightly", TimeSpan.FromSeconds(30));
        for (int i = 0; i < 10_000; i++)
        {
            var delay = jitter.DelayOf(T0.AddMinutes(i));
            Assert.InRange(delay, TimeSpan.Zero, TimeSpan.FromSeconds(30) - TimeSpan.FromTicks(1));
            Assert.Equal(0, delay.Ticks % TimeSpan.TicksPerMillisecond);
        }
    }

    [Fact]
    public void Two_replicas_compute_the_same_delay_for_a_slot()
    {
        var one = new SlotJitter("sched", "nightly", TimeSpan.FromSeconds(300));
        var other = new SlotJitter("sched", "nightly", TimeSpan.FromSeconds(300));
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(one.DelayOf(T0.AddHours(i)), other.DelayOf(T0.AddHours(i)));
        }
    }

    [Fact]
    public void The_delay_is_pinned_so_that_it_never_changes_between_versions()
    {
        // Replicas of different versions must agree: the hash is part of the contract.
        var jitter = new SlotJitter("default_scheduler", "hourly_summarize", TimeSpan.FromSeconds(300));
        Assert.Equal(PinnedDelay, jitter.DelayOf(T0).Ticks);
    }

    private const long PinnedDelay = 232_100_000; // 23.21 s

    [Fact]
    public void Delays_spread_over_the_range_and_differ_between_schedules_and_slots()
    {
        var a = new SlotJitter("sched", "a", TimeSpan.FromSeconds(60));
        var b = new SlotJitter("sched", "b", TimeSpan.FromSeconds(60));
        var other = new SlotJitter("other", "a", TimeSpan.FromSeconds(60));
        var buckets = new int[10];
        int differ = 0;
        for (int i = 0; i < 10_000; i++)
        {
            var slot = T0.AddMinutes(i);
            buckets[(int)(a.DelayOf(slot).TotalSeconds / 6)]++;
            differ += a.DelayOf(slot) != b.DelayOf(slot) && a.DelayOf(slot) != other.DelayOf(slot) ? 1 : 0;
        }
        Assert.All(buckets, n => Assert.InRange(n, 850, 1150));
        Assert.True(differ > 9_900, $"{differ} of 10,000 slots differ between schedules and schedulers");
        int distinct = Enumerable.Range(0, 10_000).Select(i => a.DelayOf(T0.AddMinutes(i))).Distinct().Count();
        Assert.True(distinct > 9_000, $"{distinct} distinct delays of 10,000 (60,000 milliseconds to draw from)");
    }

    [Theory]
    [InlineData(0.0005, 0.0)]
    [InlineData(0.0015, 0.001)]
    public void A_jitter_below_a_millisecond_or_two_draws_only_whole_milliseconds_below_it(double maxSeconds, double largest)
    {
        var jitter = new SlotJitter("sched", "a", TimeSpan.FromSeconds(maxSeconds));
        var delays = Enumerable.Range(0, 1_000).Select(i => jitter.DelayOf(T0.AddSeconds(i))).Distinct().Order().ToList();
        Assert.Equal(TimeSpan.FromSeconds(largest), delays[^1]);
        Assert.Equal(TimeSpan.Zero, delays[0]);
    }

    [Fact]
    public void A_slot_fires_at_the_slot_plus_its_delay()
    {
        var jitter = new SlotJitter("sched", "a", TimeSpan.FromSeconds(60));
        Assert.Equal(T0 + jitter.DelayOf(T0), jitter.FireTimeOf(T0));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_maximum_that_is_not_positive_is_refused(long ticks)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SlotJitter("s", "a", TimeSpan.FromTicks(ticks)));
    }
}
