using LoomSched.Config;

namespace LoomSched.Scheduling;

/// <summary>
/// Decides, across replicas, whether this process fires a slot: the engine asks before a fire and reports when
/// its messages are all handed over. A standalone engine has no gate and fires every slot.
/// </summary>
public interface ISlotGate
{
    /// <summary>
    /// Claims <paramref name="slot"/> of <paramref name="schedule"/> for this process. False when another process
    /// owns the fire, the slot is already done, or this process may not fire at all (a follower).
    /// </summary>
    ValueTask<bool> TryClaimAsync(ScheduleDefinition schedule, DateTimeOffset slot, CancellationToken cancellationToken);

    /// <summary>Records that every message of the claimed slot was handed to the output port.</summary>
    ValueTask CompleteAsync(ScheduleDefinition schedule, DateTimeOffset slot, CancellationToken cancellationToken);

    /// <summary>
    /// Checked before each message of a claimed fire: false once this process has lost the right to publish
    /// (e.g. its leadership lapsed while it was frozen), so the rest of the fire is abandoned.
    /// </summary>
    bool MayPublish { get; }
}
