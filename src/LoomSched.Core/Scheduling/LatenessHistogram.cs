namespace LoomSched.Scheduling;

/// <summary>
/// How late a schedule's fires started after their slots, counted in buckets of milliseconds as a Prometheus
/// histogram reads them (<c>status</c>'s <c>late_ms</c>, the <c>loomsched_schedule_late_milliseconds</c> metric).
/// Triggered fires have no slot to be late for and are not counted. Written under the engine's lock.
/// </summary>
public sealed class LatenessHistogram
{
    /// <summary>The buckets' upper bounds, in milliseconds: from the wake's precision to a stalled host.</summary>
    public static IReadOnlyList<double> BoundsMs { get; } = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 30000];

    // _counts[i]: fires no later than BoundsMs[i] and later than the bound before; the last, later than every bound.
    private readonly long[] _counts = new long[BoundsMs.Count + 1];
    private long _count;
    private double _sumMs;

    /// <summary>Counts one fire that started <paramref name="lateMs"/> after its slot (an early start counts as 0).</summary>
    public void Record(double lateMs)
    {
        lateMs = Math.Max(0, lateMs);
        int bucket = 0;
        while (bucket < BoundsMs.Count && lateMs > BoundsMs[bucket])
        {
            bucket++;
        }
        _counts[bucket]++;
        _count++;
        _sumMs += lateMs;
    }

    /// <summary>The counts now: per bound the fires no later than it (cumulative, as Prometheus wants), all, and their sum.</summary>
    public LatenessSnapshot Snapshot()
    {
        var cumulative = new long[BoundsMs.Count];
        long running = 0;
        for (int i = 0; i < cumulative.Length; i++)
        {
            running += _counts[i];
            cumulative[i] = running;
        }
        return new LatenessSnapshot(cumulative, _count, _sumMs);
    }
}

/// <summary>A copy of a <see cref="LatenessHistogram"/>.</summary>
/// <param name="AtMost">Per bound of <see cref="LatenessHistogram.BoundsMs"/>, the fires no later than it.</param>
/// <param name="Count">Every fire counted (the <c>+Inf</c> bucket).</param>
/// <param name="SumMs">Their lateness added up, in milliseconds.</param>
public sealed record LatenessSnapshot(IReadOnlyList<long> AtMost, long Count, double SumMs)
{
    /// <summary>No fire counted yet.</summary>
    public static LatenessSnapshot None { get; } = new(new long[LatenessHistogram.BoundsMs.Count], 0, 0);
}
