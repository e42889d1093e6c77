using LoomSched.Config;
using LoomSched.Dispatch;

namespace LoomSched.Scheduling;

/// <summary>
/// Ready-made messages, the loop's alone. With a precise wake lead (<see cref="EngineOptions.PreciseWakeLead"/>) and no
/// slot gate, the loop wakes <see cref="Lead"/> before a slot and builds the message of every plain fire due at it (no
/// expansion), its <c>created_at</c> the slot. At the slot, once the fires are decided, the messages of those still as
/// planned (<see cref="StillAsPlanned"/>) go to the port in one hand-over; the fires then only account for them.
/// Any other fire (a pause, a reload, a stall came between) builds its own, as every fire without a lead does.
/// </summary>
internal sealed class ReadyMessages(ScheduleTable table, IDispatchPort port, TimeProvider time, EngineOptions options)
{
    /// <summary>How long before a slot the loop wakes to make its messages: enough for thousands, and for a coarse timer waking late.</summary>
    public static readonly TimeSpan Lead = TimeSpan.FromMilliseconds(25);

    /// <summary>A ready message is used only by a fire decided this close to its slot (its created_at is the slot).</summary>
    private static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(100);

    /// <summary>At most this many messages are made ready for one slot; the rest are built as they fire.</summary>
    private const int Max = 10_000;

    /// <summary>
    /// How long the hand-over waits at most for the port to write the messages out: the publisher it wakes may be
    /// queued on the loop's core, and would otherwise wait there for the bookkeeping of every fire of the slot.
    /// </summary>
    private static readonly TimeSpan HandOverWait = TimeSpan.FromMilliseconds(5);

    /// <summary>Making messages ready stops this long before the slot, so that it never delays the first fire.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(1);

    private readonly bool _enabled = options.PreciseWakeLead > TimeSpan.Zero && options.SlotGate is null;
    private readonly Dictionary<ScheduleState, ReadyMessage> _ready = [];
    private DateTimeOffset _slot; // the slot whose messages were made ready last

    /// <summary>Whether the loop should wake <see cref="Lead"/> before <paramref name="slot"/> to make its messages.</summary>
    public bool WakeEarlyFor(DateTimeOffset slot) => _enabled && slot != _slot;

    /// <summary>Whether the loop's pass at <paramref name="now"/> is the hand-over of the slot's ready messages.</summary>
    public bool DueAt(DateTimeOffset now) => _ready.Count > 0 && _slot <= now && now - _slot <= Tolerance;

    /// <summary>
    /// Builds the messages of the plain fires due at <paramref name="slot"/> when it is near (on the loop's thread,
    /// outside the lock), stopping <see cref="Margin"/> before it.
    /// </summary>
    public void MakeIfNear(DateTimeOffset slot, DateTimeOffset now)
    {
        if (!_enabled || slot <= now || slot == _slot || slot - time.GetUtcNow() > Lead)
        {
            return;
        }
        _ready.Clear();
        _slot = slot;
        var candidates = new List<(ScheduleState State, long Version, ScheduleDefinition Definition)>();
        MessageBuilder builder;
        lock (table.Gate)
        {
            builder = table.Builder;
            var entries = new List<SlotEntry>();
            table.Queue.PeekAt(slot, Max, entries);
            foreach (var entry in entries)
            {
                var state = entry.State;
                // A jittered schedule's entry comes due after its slot: its fire builds its own message.
                if (!entry.Replan && entry.IsLive && !state.Running && !state.EarlierFireRunning && state.Definition.ExpandFrom is null && state.Definition.Jitter is null)
                {
                    candidates.Add((state, state.Version, state.Definition));
                }
            }
        }
        var stopAt = slot - Margin;
        for (int i = 0; i < candidates.Count; i++)
        {
            if ((i & 63) == 0 && time.GetUtcNow() >= stopAt)
            {
                return;
            }
            var (state, version, definition) = candidates[i];
            try
            {
                var messages = builder.ForFire(definition, slot);
                var message = messages.Message(messages.BuildBody(null, createdAt: slot), 0);
                message.KeepId(); // spelled now, not by the publisher in the burst
                _ready[state] = new ReadyMessage(version, builder, slot, messages, message);
            }
            catch (Exception)
            {
                // The fire builds it again at the slot, and says what is wrong then.
            }
        }
    }

    /// <summary>
    /// At the slot, with its fires decided and before their bookkeeping (under the lock, so nothing changes a schedule
    /// between the two): gives each fire the message made for it if still as planned, and hands those to the port in
    /// one call; the ones it took count as sent at <paramref name="now"/>. The rest are sent by their fires.
    /// </summary>
    public void HandOver(List<Fire> fires, DateTimeOffset now)
    {
        var messages = new DispatchMessage[Math.Min(_ready.Count, fires.Count)];
        var readies = new ReadyMessage[messages.Length];
        int count = 0;
        foreach (var fire in fires)
        {
            if (count < messages.Length && _ready.Remove(fire.State, out var ready) && StillAsPlanned(ready, fire, now))
            {
                fire.Ready = ready;
                messages[count] = ready.Message;
                readies[count++] = ready;
            }
        }
        // Every fire due at the slot was decided in this pass: what is left was made for a fire that did not happen.
        _ready.Clear();
        int taken = count == 0 ? 0 : port.TryPublishNow(messages.AsSpan(0, count), HandOverWait);
        for (int i = 0; i < taken; i++)
        {
            readies[i].Handed = true;
            readies[i].HandedAt = now;
        }
    }

    /// <summary>
    /// A ready message serves the fire it was made for only: the same slot, schedule version and builder (no pause,
    /// reload or new plan came between), a fire with nothing to await, decided within <see cref="Tolerance"/> of its slot.
    /// </summary>
    internal static bool StillAsPlanned(ReadyMessage ready, Fire fire, DateTimeOffset now) =>
        ready.Slot == fire.Slot && fire.Inline && ready.Version == fire.State.Version
        && ReferenceEquals(ready.Builder, fire.Builder) && now - fire.Slot <= Tolerance;
}
