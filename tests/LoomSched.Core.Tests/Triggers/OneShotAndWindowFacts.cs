using LoomSched.Triggers;

namespace LoomSched.Tests.Triggers;

public class OneShotAndWindowFacts
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2027-03-01T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    [Theory]
    [InlineData(-3600, 0.0)]
    [InlineData(-0.001, 0.0)]
    [InlineData(0, null)]
    [InlineData(1, null)]
    public void A_one_shot_has_its_instant_as_its_only_slot(double after, double? expected)
    {
        var trigger = new OneShotTrigger(T0);
        Assert.Equal(expected is { } e ? At(e) : null, trigger.NextAfter(At(after), At(-86_400)));
    }

    [Fact]
    public void A_one_shot_describes_its_instant()
    {
        Assert.Equal("once at 2027-03-01T09:00:00Z", new OneShotTrigger(T0).Describe());
    }

    // An interval of 10 s: with a start, its grid is start + k·10 s (k ≥ 0) whatever the anchor; without one, the
    // engine's anchor + k·10 s (k ≥ 1).
    [Theory]
    [InlineData(null, 100.0, -100.0, 0.0, 10.0)] // no start: the anchor's grid
    [InlineData(0.0, null, -100.0, -50.0, 0.0)] // before the start: the start itself
    [InlineData(0.0, null, -100.0, 0.0, 10.0)]
    [InlineData(0.0, null, -3.0, 25.0, 30.0)] // the anchor is ignored: the grid is the start's
    [InlineData(5.0, null, 0.0, 0.0, 5.0)]
    [InlineData(null, 30.0, 0.0, 15.0, 20.0)]
    [InlineData(null, 30.0, 0.0, 20.0, null)] // 30 is not in [.., 30)
    [InlineData(0.0, 30.0, 0.0, 29.0, null)]
    [InlineData(0.0, 0.0, 0.0, -1.0, null)] // an empty window
    public void A_window_keeps_the_interval_slots_inside_it(double? start, double? end, double anchor, double after, double? expected)
    {
        var trigger = new WindowedTrigger(new IntervalTrigger(TimeSpan.FromSeconds(10)), start is { } s ? At(s) : null, end is { } e ? At(e) : null);
        Assert.Equal(expected is { } x ? At(x) : null, trigger.NextAfter(At(after), At(anchor)));
    }

    [Theory]
    [InlineData("2027-03-01T09:30:00Z", null, "2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z")]
    [InlineData("2027-03-01T10:00:00Z", null, "2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z")] // start on a slot: inclusive
    [InlineData(null, "2027-03-01T11:00:00Z", "2027-03-01T10:00:00Z", null)] // end on a slot: exclusive
    [InlineData(null, "2027-03-01T11:00:01Z", "2027-03-01T10:00:00Z", "2027-03-01T11:00:00Z")]
    public void A_window_keeps_the_cron_slots_inside_it(string? start, string? end, string after, string? expected)
    {
        Assert.True(CronTrigger.TryParse("0 * * * *", TimeZoneInfo.Utc, out var cron, out _));
        var trigger = new WindowedTrigger(cron, Parse(start), Parse(end));
        Assert.Equal(Parse(expected), trigger.NextAfter(Parse(after)!.Value, T0));
    }

    [Fact]
    public void A_window_around_a_one_shot_keeps_it_only_inside()
    {
        Assert.Equal(T0, new WindowedTrigger(new OneShotTrigger(T0), At(-1), At(1)).NextAfter(At(-10), At(-10)));
        Assert.Null(new WindowedTrigger(new OneShotTrigger(T0), null, T0).NextAfter(At(-10), At(-10)));
    }

    [Fact]
    public void A_window_says_whether_its_grid_is_its_own()
    {
        var every = new IntervalTrigger(TimeSpan.FromSeconds(10));
        Assert.True(new WindowedTrigger(every, T0, null).FixedGrid);
        Assert.False(new WindowedTrigger(every, null, T0).FixedGrid);
    }

    [Fact]
    public void A_window_without_bounds_or_ending_before_it_starts_is_refused()
    {
        var every = new IntervalTrigger(TimeSpan.FromSeconds(10));
        Assert.Throws<ArgumentException>(() => new WindowedTrigger(every, null, null));
        Assert.Throws<ArgumentException>(() => new WindowedTrigger(every, At(1), At(0)));
    }

    [Fact]
    public void A_window_describes_its_bounds()
    {
        var every = new IntervalTrigger(TimeSpan.FromSeconds(10));
        Assert.Equal("every 10 s, from 2027-03-01T09:00:00Z until 2027-03-01T10:00:00Z",
            new WindowedTrigger(every, T0, T0.AddHours(1)).Describe());
        Assert.Equal("every 10 s, until 2027-03-01T09:00:00Z", new WindowedTrigger(every, null, T0).Describe());
    }

    private static DateTimeOffset? Parse(string? text) =>
        text is null ? null : DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
}
