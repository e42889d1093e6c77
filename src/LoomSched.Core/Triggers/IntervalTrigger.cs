namespace LoomSched.Triggers;

/// <summary>
/// Fixed-rate slots <c>anchor + k·interval</c> for k ≥ 1 (the first fire is one interval after start, as
/// in Loom). Slots are computed from k in whole ticks, never by adding to the previous slot, so they
/// cannot drift however many fire.
/// </summary>
public sealed class IntervalTrigger : ITrigger
{
    /// <summary>Creates the trigger.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The interval is not positive.</exception>
    public IntervalTrigger(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        Interval = interval;
    }

    /// <summary>The period.</summary>
    public TimeSpan Interval { get; }

    /// <inheritdoc />
    public DateTimeOffset? NextAfter(DateTimeOffset instant, DateTimeOffset anchor)
    {
        long elapsed = (instant - anchor).Ticks;
        // Floor division that also holds before the anchor; k >= 1 keeps the first slot one interval after start.
        long k = elapsed < 0 ? 1 : (elapsed / Interval.Ticks) + 1;
        // A slot past the last representable instant (year 9999) does not exist: none, rather than an overflow.
        long room = DateTimeOffset.MaxValue.UtcTicks - anchor.UtcTicks;
        return k > room / Interval.Ticks ? null : anchor + TimeSpan.FromTicks(k * Interval.Ticks);
    }

    /// <inheritdoc />
    public string Describe() => $"every {Interval.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} s";
}
