namespace LoomSched.Scheduling;

/// <summary>
/// A schedule's entry in the <see cref="SlotQueue"/>: a slot it waits for, or (<paramref name="Replan"/>) a retry of
/// its planning after a fault. Stale once the schedule's version moved on (a pause, a reload, a new plan). The entry is
/// queued for the instant the slot fires, which <c>jitter_seconds</c> puts after <paramref name="Slot"/>.
/// </summary>
internal readonly record struct SlotEntry(ScheduleState State, long Version, bool Replan = false, DateTimeOffset Slot = default)
{
    /// <summary>The schedule still waits for this entry: same version, neither paused nor removed.</summary>
    public bool IsLive => Version == State.Version && !State.Removed && !State.Paused;
}

/// <summary>
/// The instants the schedules wait for, earliest first; entries of one instant come out in the order they went in.
/// Stale entries are not removed, only skipped when they come out. Guarded by the engine's lock (<see cref="ScheduleTable.Gate"/>).
/// </summary>
internal sealed class SlotQueue
{
    private readonly PriorityQueue<SlotEntry, Key> _queue = new();
    private long _seq;

    /// <summary>The earliest instant queued, if any.</summary>
    public DateTimeOffset? Earliest => _queue.TryPeek(out _, out var key) ? key.Due : null;

    public void Add(SlotEntry entry, DateTimeOffset due) => _queue.Enqueue(entry, new Key(due, _seq++));

    /// <summary>Takes the earliest entry if it is due by <paramref name="now"/>.</summary>
    public bool TryTakeDue(DateTimeOffset now, out SlotEntry entry, out DateTimeOffset due)
    {
        if (_queue.TryPeek(out entry, out var key) && key.Due <= now)
        {
            _queue.Dequeue();
            due = key.Due;
            return true;
        }
        due = default;
        return false;
    }

    /// <summary>
    /// Copies up to <paramref name="max"/> entries queued for exactly <paramref name="slot"/> (the earliest) into
    /// <paramref name="into"/>, leaving the queue as it was.
    /// </summary>
    public void PeekAt(DateTimeOffset slot, int max, List<SlotEntry> into)
    {
        // The queue yields its earliest entries only: take those of the slot and put them back with the same
        // priority, hence in the same order.
        var taken = new List<(SlotEntry Entry, Key Key)>();
        while (taken.Count < max && _queue.TryPeek(out var entry, out var key) && key.Due == slot)
        {
            _queue.Dequeue();
            taken.Add((entry, key));
        }
        foreach (var (entry, key) in taken)
        {
            _queue.Enqueue(entry, key);
            into.Add(entry);
        }
    }

    /// <summary>
    /// An entry's priority: its instant, then the order it was queued in. Compared as two numbers: many schedules due
    /// at once take many comparisons, and a tuple compared through the default comparers made them the loop's main cost.
    /// </summary>
    private readonly struct Key(DateTimeOffset due, long seq) : IComparable<Key>
    {
        private readonly long _ticks = due.UtcTicks;
        private readonly long _seq = seq;

        /// <summary>The instant, in UTC (the queue keeps instants; no offset is ever shown from it).</summary>
        public DateTimeOffset Due => new(_ticks, TimeSpan.Zero);

        public int CompareTo(Key other) =>
            _ticks != other._ticks ? (_ticks < other._ticks ? -1 : 1) : _seq.CompareTo(other._seq);
    }
}
