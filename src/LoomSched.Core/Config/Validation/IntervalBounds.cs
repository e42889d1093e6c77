namespace LoomSched.Config.Validation;

/// <summary>The shortest and the longest <c>interval_seconds</c> a config may give (README, Config).</summary>
public static class IntervalBounds
{
    /// <summary>
    /// One millisecond. Slots are written to the microsecond (six-digit fractions) in <c>Loom-Scheduled-For</c> and
    /// <c>Nats-Msg-Id</c>: far below this, neighbouring slots would be written alike and a JetStream stream would drop
    /// real messages as duplicates. A thousand times the microsecond keeps well clear of that.
    /// </summary>
    public const double MinSeconds = 0.001;

    /// <summary>
    /// One hundred Julian years (3,155,760,000 s). A longer interval puts its slots past the last date a clock can
    /// represent within a few steps.
    /// </summary>
    public const double MaxSeconds = 100 * 365.25 * 86_400;
}
