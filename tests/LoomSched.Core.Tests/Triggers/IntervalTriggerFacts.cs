using LoomSched.Triggers;

namespace LoomSched.Tests.Triggers;

public class IntervalTriggerFacts
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-27T02:00:00.1234567Z");

    [Fact]
    public void First_slot_is_one_interval_after_start()
    {
        var trigger = new IntervalTrigger(TimeSpan.FromSeconds(30));
        Assert.Equal(Start.AddSeconds(30), trigger.NextAfter(Start, Start));
    }

    [Theory]
    [InlineData(300.0)]
    [InlineData(0.1)]
    [InlineData(0.25)]
    [InlineData(1.0 / 3.0)]
    [InlineData(86_400.0)]
    public void Ten_thousand_slots_stay_on_the_grid_without_drift(double seconds)
    {
        var interval = TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));
        var trigger = new IntervalTrigger(interval);
        var slot = Start;
        for (long k = 1; k <= 10_000; k++)
        {
            slot = trigger.NextAfter(slot, Start)!.Value;
            Assert.Equal(Start.Ticks + (k * interval.Ticks), slot.Ticks);
        }
    }

    [Fact]
    public void Next_slot_after_any_instant_is_the_next_grid_point()
    {
        var trigger = new IntervalTrigger(TimeSpan.FromSeconds(10));
        Assert.Equal(Start.AddSeconds(40), trigger.NextAfter(Start.AddSeconds(35.5), Start));
        Assert.Equal(Start.AddSeconds(50), trigger.NextAfter(Start.AddSeconds(40), Start));
        Assert.Equal(Start.AddSeconds(10), trigger.NextAfter(Start.AddSeconds(-100), Start));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_non_positive_interval_is_refused(long ticks)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IntervalTrigger(TimeSpan.FromTicks(ticks)));
    }
}
