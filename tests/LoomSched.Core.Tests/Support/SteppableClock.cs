using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Support;

/// <summary>
/// A fake clock whose wall time can be set back (as NTP or an operator does) while its monotonic time and its
/// timers run on: <see cref="FakeTimeProvider"/> itself never goes back.
/// </summary>
public sealed class SteppableClock(FakeTimeProvider inner) : TimeProvider
{
    private long _offsetTicks;

    /// <summary>Sets the wall clock back by <paramref name="by"/>; timers and timestamps are unaffected.</summary>
    public void SetBack(TimeSpan by) => Interlocked.Add(ref _offsetTicks, -by.Ticks);

    /// <summary>Sets the wall clock forward by <paramref name="by"/>, without any time passing for timers.</summary>
    public void JumpForward(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => inner.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        inner.CreateTimer(callback, state, dueTime, period);
}
