using LoomSched.Dispatch;

namespace LoomSched.Triggers;

/// <summary>
/// <c>start_at</c> / <c>end_at</c>: the slots of <see cref="Inner"/> that lie in [<see cref="Start"/>, <see cref="End"/>)
/// (either bound may be absent). An interval schedule with a start has its grid there: slots are
/// <c>start, start + interval, …</c> whenever the daemon started, so that every replica and every restart keeps it.
/// </summary>
public sealed class WindowedTrigger : ITrigger
{
    /// <summary>Bounds <paramref name="inner"/>; at least one bound is given.</summary>
    /// <exception cref="ArgumentException">No bound, or the end is not after the start.</exception>
    public WindowedTrigger(ITrigger inner, DateTimeOffset? start, DateTimeOffset? end)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (start is null && end is null)
        {
            throw new ArgumentException("a window needs a start or an end", nameof(start));
        }
        if (start is { } s && end is { } e && e < s)
        {
            throw new ArgumentException("a window's end comes before its start", nameof(end));
        }
        Inner = inner;
        Start = start;
        End = end;
    }

    /// <summary>The unbounded trigger.</summary>
    public ITrigger Inner { get; }

    /// <summary>The first instant a slot may have (inclusive), or null.</summary>
    public DateTimeOffset? Start { get; }

    /// <summary>The instant slots stop (exclusive), or null.</summary>
    public DateTimeOffset? End { get; }

    /// <summary>
    /// True when the slots do not depend on the anchor the engine passes: a cron, a one-shot, or an interval grid
    /// that starts at <see cref="Start"/>.
    /// </summary>
    public bool FixedGrid => Inner is not IntervalTrigger || Start is not null;

    /// <inheritdoc />
    public DateTimeOffset? NextAfter(DateTimeOffset instant, DateTimeOffset anchor)
    {
        DateTimeOffset? next;
        if (Start is { } start && Inner is IntervalTrigger interval)
        {
            // The grid start + k·interval, k ≥ 0: the slot k = 0 is start itself, the grid one interval before it.
            next = start > instant ? start : interval.NextAfter(instant, start);
        }
        else
        {
            // Slots before the start are passed over by asking from just before it.
            var from = Start is { } s && s > instant ? s - TimeSpan.FromTicks(1) : instant;
            next = Inner.NextAfter(from, anchor);
        }
        return next is { } n && (End is not { } end || n < end) ? n : null;
    }

    /// <inheritdoc />
    public string Describe()
    {
        string from = Start is { } s ? $"from {LoomTime.Format(s)}" : "";
        string until = End is { } e ? $"until {LoomTime.Format(e)}" : "";
        return $"{Inner.Describe()}, {string.Join(' ', new[] { from, until }.Where(t => t.Length > 0))}";
    }
}
