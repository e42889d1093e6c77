using LoomSched.Scheduling;

namespace LoomSched.Tests.Scheduling;

/// <summary>A schedule's lateness histogram: which bucket a fire lands in, and the cumulative counts Prometheus reads.</summary>
public sealed class LatenessHistogramFacts
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(-3, 0)] // a start a hair before the slot counts as on time
    [InlineData(0.5, 0)] // a bound belongs to its own bucket (le: less than or equal)
    [InlineData(0.5001, 1)]
    [InlineData(1, 1)]
    [InlineData(7, 4)]
    [InlineData(30000, 12)]
    [InlineData(30000.1, 13)] // later than every bound: only in +Inf
    [InlineData(double.MaxValue, 13)]
    public void A_fire_is_counted_in_the_first_bucket_whose_bound_it_does_not_exceed(double lateMs, int bucket)
    {
        var histogram = new LatenessHistogram();
        histogram.Record(lateMs);

        var snapshot = histogram.Snapshot();

        Assert.Equal(LatenessHistogram.BoundsMs.Count, snapshot.AtMost.Count);
        for (int i = 0; i < snapshot.AtMost.Count; i++)
        {
            Assert.Equal(i >= bucket ? 1 : 0, snapshot.AtMost[i]);
        }
        Assert.Equal(1, snapshot.Count);
        Assert.Equal(Math.Max(0, lateMs), snapshot.SumMs);
    }

    [Fact]
    public void Counts_are_cumulative_and_the_sum_adds_every_fire()
    {
        var histogram = new LatenessHistogram();
        foreach (double late in new[] { 0.1, 0.2, 0.9, 3, 3, 120, 60_000 })
        {
            histogram.Record(late);
        }

        var snapshot = histogram.Snapshot();

        Assert.Equal([2, 3, 3, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6], snapshot.AtMost);
        Assert.Equal(7, snapshot.Count);
        Assert.Equal(60_127.2, snapshot.SumMs, 6);
    }
}
