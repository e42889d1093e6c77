namespace LoomSched.Scheduling;

/// <summary>
/// Notices the wall clock set back (NTP correcting a clock that ran ahead, a clock set by hand): at every look it
/// compares how far the wall clock moved with how far the monotonic clock did. Without it, every schedule would wait
/// for slots that now lie ahead by as much as the clock went back. A clock set forward needs nothing of its own: its
/// slots are missed, as after a stall. The loop's alone.
/// </summary>
internal sealed class ClockWatch(TimeProvider time)
{
    /// <summary>How far the wall clock may fall behind the monotonic clock before the slots are planned again.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(1);

    private DateTimeOffset _seenWall; // the wall clock at the last look ...
    private long _seenTimestamp; // ... and the monotonic clock then

    /// <summary>
    /// How far the wall clock went back since the last look, when by more than <see cref="Tolerance"/>; null otherwise
    /// (and at the first look). <paramref name="now"/> is the wall clock as the caller just read it.
    /// </summary>
    public TimeSpan? SetBack(DateTimeOffset now)
    {
        long timestamp = time.GetTimestamp();
        var back = _seenWall + time.GetElapsedTime(_seenTimestamp, timestamp) - now;
        bool seen = _seenTimestamp != 0 || _seenWall != default;
        _seenWall = now;
        _seenTimestamp = timestamp;
        return seen && back > Tolerance ? back : null;
    }
}
