using LoomSched.Scheduling;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Scheduling;

/// <summary>Set-back detection: the wall clock against the monotonic clock, look by look.</summary>
public sealed class ClockWatchFacts
{
    private readonly FakeTimeProvider _fake = new(DateTimeOffset.Parse("2026-11-27T03:00:00Z"));
    private readonly SteppableClock _clock;
    private readonly ClockWatch _watch;

    public ClockWatchFacts()
    {
        _clock = new SteppableClock(_fake);
        _watch = new ClockWatch(_clock);
    }

    private TimeSpan? Look() => _watch.SetBack(_clock.GetUtcNow());

    [Theory]
    // seconds that pass, seconds the wall clock is set back (negative: forward) → set back seen (seconds; null: none)
    [InlineData(0, 0, null)]
    [InlineData(10, 0, null)] // time passes on both clocks
    [InlineData(0, 1, null)] // within the tolerance
    [InlineData(5, 1, null)]
    [InlineData(0, 1.5, 1.5)]
    [InlineData(5, 2, 2.0)] // time passed too: only the wall clock's step counts
    [InlineData(0, 3600, 3600.0)]
    [InlineData(0, -3600, null)] // set forward: slots are missed as after a stall, nothing to notice
    [InlineData(60, -30, null)]
    public void A_wall_clock_set_back_by_more_than_a_second_is_seen_at_the_next_look(double passes, double back, double? seen)
    {
        Assert.Null(Look());
        _fake.Advance(TimeSpan.FromSeconds(passes));
        if (back >= 0)
        {
            _clock.SetBack(TimeSpan.FromSeconds(back));
        }
        else
        {
            _clock.JumpForward(TimeSpan.FromSeconds(-back));
        }
        Assert.Equal(seen is { } s ? TimeSpan.FromSeconds(s) : null, Look());
    }

    [Fact]
    public void The_first_look_sees_nothing_whatever_the_clock_says()
    {
        _clock.SetBack(TimeSpan.FromDays(1));
        Assert.Null(Look());
    }

    [Fact]
    public void A_set_back_is_seen_once_and_later_looks_compare_with_the_new_time()
    {
        Look();
        _clock.SetBack(TimeSpan.FromMinutes(5));
        Assert.Equal(TimeSpan.FromMinutes(5), Look());
        _fake.Advance(TimeSpan.FromSeconds(30));
        Assert.Null(Look());
    }
}
