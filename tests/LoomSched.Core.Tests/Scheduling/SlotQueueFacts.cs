using LoomSched.Scheduling;
using LoomSched.Tests.Support;

namespace LoomSched.Tests.Scheduling;

/// <summary>The queue of instants: earliest first, first-queued first within an instant, stale entries told apart.</summary>
public sealed class SlotQueueFacts
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-27T03:00:00Z");

    private static ScheduleState State(string name) => new(TestSchedules.Interval(name, 1), T0);

    private static List<(string Name, DateTimeOffset Due)> TakeDue(SlotQueue queue, DateTimeOffset now)
    {
        var taken = new List<(string, DateTimeOffset)>();
        while (queue.TryTakeDue(now, out var entry, out var due))
        {
            taken.Add((entry.State.Definition.Name, due));
        }
        return taken;
    }

    [Fact]
    public void Entries_come_out_earliest_first_and_in_queued_order_within_an_instant_once_due()
    {
        var queue = new SlotQueue();
        queue.Add(new SlotEntry(State("late"), 0), T0.AddSeconds(2));
        queue.Add(new SlotEntry(State("b"), 0), T0.AddSeconds(1));
        queue.Add(new SlotEntry(State("a"), 0), T0);
        queue.Add(new SlotEntry(State("c"), 0), T0.AddSeconds(1));

        Assert.Equal(T0, queue.Earliest);
        Assert.Equal([("a", T0), ("b", T0.AddSeconds(1)), ("c", T0.AddSeconds(1))], TakeDue(queue, T0.AddSeconds(1.5)));
        Assert.Equal(T0.AddSeconds(2), queue.Earliest);
        Assert.Empty(TakeDue(queue, T0.AddSeconds(1.9)));
    }

    [Fact]
    public void Peeking_at_an_instant_leaves_the_queue_as_it_was()
    {
        var queue = new SlotQueue();
        foreach (var name in new[] { "a", "b", "c" })
        {
            queue.Add(new SlotEntry(State(name), 0), T0);
        }
        queue.Add(new SlotEntry(State("later"), 0), T0.AddSeconds(1));

        var seen = new List<SlotEntry>();
        queue.PeekAt(T0, max: 2, seen);

        Assert.Equal(["a", "b"], seen.Select(e => e.State.Definition.Name));
        Assert.Equal(["a", "b", "c", "later"], TakeDue(queue, T0.AddSeconds(1)).Select(t => t.Name));
    }

    [Fact]
    public void An_entry_is_live_only_while_its_schedule_keeps_its_version_and_is_neither_paused_nor_removed()
    {
        var state = State("a");
        var entry = new SlotEntry(state, state.Version);
        Assert.True(entry.IsLive);
        state.Paused = true;
        Assert.False(entry.IsLive);
        state.Paused = false;
        state.Version++;
        Assert.False(entry.IsLive);
        Assert.True(new SlotEntry(state, state.Version).IsLive);
        state.Removed = true;
        Assert.False(new SlotEntry(state, state.Version).IsLive);
    }
}
