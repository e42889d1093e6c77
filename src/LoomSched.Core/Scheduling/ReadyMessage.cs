using LoomSched.Dispatch;

namespace LoomSched.Scheduling;

/// <summary>
/// A message made ready before its slot (id spelled), and what it was made from: the fire it is for uses it only if
/// these still match (<see cref="ReadyMessages.StillAsPlanned"/>). A class, not a record: nothing compares them.
/// </summary>
internal sealed class ReadyMessage(long version, MessageBuilder builder, DateTimeOffset slot, FireMessages messages, DispatchMessage message)
{
    public long Version { get; } = version;
    public MessageBuilder Builder { get; } = builder;
    public DateTimeOffset Slot { get; } = slot;
    public FireMessages Messages { get; } = messages;
    public DispatchMessage Message { get; } = message;

    /// <summary>The port took the message at <see cref="HandedAt"/>, at the slot: its fire only accounts for it.</summary>
    public bool Handed { get; set; }

    public DateTimeOffset HandedAt { get; set; }
}
