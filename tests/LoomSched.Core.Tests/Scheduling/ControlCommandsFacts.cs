using LoomSched.Scheduling;

namespace LoomSched.Tests.Scheduling;

/// <summary>The parts of the control commands that need no engine: merging a catch-up into the slots queued behind a fire.</summary>
public sealed class ControlCommandsFacts
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-27T03:00:00Z");

    private static DateTimeOffset[] At(params int[] seconds) => [.. seconds.Select(s => T0.AddSeconds(s))];

    [Theory]
    // queued (null: none), catch-up slots → merged
    [InlineData(null, new[] { 1, 2, 3 }, new[] { 1, 2, 3 })]
    [InlineData(new int[0], new[] { 1, 2 }, new[] { 1, 2 })]
    [InlineData(new[] { 5 }, new[] { 1, 2 }, new[] { 1, 2, 5 })]
    [InlineData(new[] { 1, 4 }, new[] { 2, 3 }, new[] { 1, 2, 3, 4 })]
    [InlineData(new[] { 2, 3 }, new[] { 2, 3 }, new[] { 2, 3 })] // each slot once
    [InlineData(new[] { 1, 3, 5 }, new[] { 3, 4, 5, 6 }, new[] { 1, 3, 4, 5, 6 })]
    public void A_catch_up_joins_the_slots_queued_behind_a_running_fire_in_slot_order_each_once(int[]? queued, int[] slots, int[] merged)
    {
        var queue = queued is null ? null : new Queue<DateTimeOffset>(At(queued));
        Assert.Equal(At(merged), ControlCommands.Merged(queue, At(slots)));
    }
}
