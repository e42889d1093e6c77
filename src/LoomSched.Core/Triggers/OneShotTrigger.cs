using LoomSched.Dispatch;

namespace LoomSched.Triggers;

/// <summary>
/// <c>at:</c> — one slot, the given instant. There is no slot after it: once it has passed (fired, or passed before
/// the daemon started) the schedule is done.
/// </summary>
public sealed class OneShotTrigger(DateTimeOffset at) : ITrigger
{
    /// <summary>The one slot.</summary>
    public DateTimeOffset At { get; } = at;

    /// <inheritdoc />
    public DateTimeOffset? NextAfter(DateTimeOffset instant, DateTimeOffset anchor) => At > instant ? At : null;

    /// <inheritdoc />
    public string Describe() => $"once at {LoomTime.Format(At)}";
}
