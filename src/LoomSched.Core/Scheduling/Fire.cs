using LoomSched.Config;
using LoomSched.Dispatch;

namespace LoomSched.Scheduling;

/// <summary>
/// One fire (or catch-up run) of a schedule, from the moment it is decided until it ends. It captures the definition
/// and builder as they were then: a reload meanwhile does not change a fire already decided.
/// </summary>
internal sealed class Fire(
    ScheduleState state, ScheduleDefinition definition, MessageBuilder builder, DateTimeOffset slot, bool manual,
    IReadOnlyList<DateTimeOffset>? catchUp)
{
    public ScheduleState State { get; } = state;
    public ScheduleDefinition Definition { get; } = definition;
    public MessageBuilder Builder { get; } = builder;
    public DateTimeOffset Slot { get; } = slot;
    public bool Manual { get; } = manual;

    /// <summary>The slots of a catch-up run, oldest first (then its backlog); null for one slot.</summary>
    public IReadOnlyList<DateTimeOffset>? CatchUp { get; } = catchUp;

    /// <summary>Needs no await of its own: starts on the thread that launches it (see <see cref="FireRunner.Launch(Fire)"/>).</summary>
    public bool Inline { get; init; }

    /// <summary>Messages built and not yet handed to the port: what a cut fire abandons.</summary>
    public int Remaining;

    /// <summary>The message made ready for this fire before its slot, if still as planned (<see cref="ReadyMessages"/>).</summary>
    public ReadyMessage? Ready { get; set; }
}
