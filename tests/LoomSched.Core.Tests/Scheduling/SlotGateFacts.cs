using System.Collections.Concurrent;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Scheduling;

/// <summary>The engine with a slot gate (replicas): what it fires, what it leaves, and catch-up runs.</summary>
public sealed class SlotGateFacts() : EngineHarness(T0)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-27T02:59:58.5Z");
    private readonly FakeGate _gate = new();

    private sealed class FakeGate : ISlotGate
    {
        public bool Leader { get; set; } = true;
        public volatile bool Publishing = true;
        public ConcurrentQueue<string> Claimed { get; } = new();
        public ConcurrentQueue<string> Done { get; } = new();
        public bool MayPublish => Publishing;

        /// <summary>While set, claims wait for it (a state bucket that does not answer).</summary>
        public TaskCompletionSource? Hold { get; set; }

        /// <summary>Slots whose next claim is refused (a take-over that fires them with its catch-up instead).</summary>
        public ConcurrentDictionary<string, bool> RefuseOnce { get; } = new();

        public async ValueTask<bool> TryClaimAsync(ScheduleDefinition schedule, DateTimeOffset slot, CancellationToken cancellationToken)
        {
            if (Hold is { } hold)
            {
                await hold.Task.WaitAsync(cancellationToken);
            }
            if (RefuseOnce.TryRemove(LoomTime.Format(slot), out _))
            {
                return false;
            }
            if (Leader)
            {
                Claimed.Enqueue(LoomTime.Format(slot));
            }
            return Leader;
        }

        public ValueTask CompleteAsync(ScheduleDefinition schedule, DateTimeOffset slot, CancellationToken cancellationToken)
        {
            Done.Enqueue(LoomTime.Format(slot));
            return ValueTask.CompletedTask;
        }
    }

    private SchedulerEngine StartGated(IExpansionRegistry? registry, params ScheduleDefinition[] schedules) =>
        StartGated(registry, null, schedules);

    private SchedulerEngine StartGated(IExpansionRegistry? registry, RecordingLogger? log, params ScheduleDefinition[] schedules) =>
        StartWith(new EngineOptions
        {
            Registry = registry ?? ExpansionRegistry.Empty,
            SlotGate = _gate,
            IntervalAnchor = DateTimeOffset.UnixEpoch,
            LoggerFactory = log ?? new RecordingLogger(),
        }, schedules);

    [Theory]
    [InlineData(CatchUpPolicy.All, new[] { "2026-11-27T02:59:59Z", "2026-11-27T03:00:00Z", "2026-11-27T03:00:01Z" }, 0)]
    [InlineData(CatchUpPolicy.Once, new[] { "2026-11-27T02:59:59Z", "2026-11-27T03:00:01Z" }, 0)]
    [InlineData(CatchUpPolicy.Skip, new[] { "2026-11-27T02:59:59Z" }, 2)]
    public async Task Slots_that_come_while_a_claim_waits_on_the_slot_state_follow_the_catch_up_policy(
        CatchUpPolicy policy, string[] fired, int skipped)
    {
        _gate.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new RecordingLogger();
        StartGated(null, log, TestSchedules.Interval("held", 1, catchUp: new CatchUpOptions(policy, 60)));
        StuckOnPurpose = 1; // the first fire waits at the gate while the clock moves on
        await AdvanceAsync(TimeSpan.FromSeconds(2.5), TimeSpan.FromMilliseconds(500));
        Assert.Empty(Port.Seen);

        var hold = _gate.Hold;
        _gate.Hold = null;
        hold.SetResult();
        StuckOnPurpose = 0;
        await RecordingPort.Eventually(() => Port.Seen.Count == fired.Length && !StatusOf("held").Running, "the held fire and what queued behind it");
        await Settle();

        Assert.Equal(fired, Port.Seen.Select(s => s.Message.ScheduledFor));
        Assert.Equal(skipped, StatusOf("held").Skipped);
        // Skipped slots say why: not a fire that runs long, but one that waits for the slot state.
        var skips = log.Lines.Where(l => l.Text.StartsWith("skipped held", StringComparison.Ordinal)).Select(l => l.Text).ToList();
        Assert.Equal(skipped, skips.Count);
        Assert.All(skips, l => Assert.EndsWith("its previous fire still waits for the slot state (catch_up: skip)", l));
    }

    [Fact]
    public async Task Interval_slots_sit_on_the_shared_grid_of_the_anchor()
    {
        StartGated(null, TestSchedules.Interval("grid", 1));
        await AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500));
        await RecordingPort.Eventually(() => Port.Seen.Count == 2 && _gate.Done.Count == 2, "two fires, each completed after its send");
        // Started at :58.5: the epoch grid puts the slots on whole seconds, not half past.
        Assert.Equal(["2026-11-27T02:59:59Z", "2026-11-27T03:00:00Z"], Port.Seen.Select(s => s.Message.ScheduledFor));
        Assert.Equal(["2026-11-27T02:59:59Z", "2026-11-27T03:00:00Z"], _gate.Done);
    }

    [Fact]
    public async Task A_follower_claims_nothing_publishes_nothing_and_counts_the_slots()
    {
        _gate.Leader = false;
        StartGated(null, TestSchedules.Interval("grid", 1));
        await AdvanceAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("grid").NotClaimed == 3, "three slots left to the leader");
        Assert.Empty(Port.Seen);
        Assert.Equal(0, StatusOf("grid").Fires);
        Assert.Empty(_gate.Done);
    }

    [Fact]
    public async Task A_fire_stops_publishing_when_the_right_to_publish_lapses()
    {
        var registry = new ExpansionRegistry().Add("five", (_, _) =>
        {
            _gate.Publishing = false; // leadership lapses while the fire runs
            return ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(
                Enumerable.Range(0, 5).Select(i => (IEnumerable<KeyValuePair<string, object?>>)[new("i", (long)i)]));
        }, "Tests.five");
        StartGated(registry, TestSchedules.Interval("fan", 1, expandFrom: "five"));
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("fan").Errors == 1, "the fire is cut");
        Assert.Empty(Port.Seen);
        Assert.Empty(_gate.Done);
        Assert.Contains("lost the right to publish", StatusOf("fan").LastError);
    }

    [Fact]
    public async Task Catch_up_fires_the_given_slots_in_order_through_the_gate()
    {
        var engine = StartGated(null, TestSchedules.Interval("late", 60));
        await Settle();
        var slots = new[] { T0.AddSeconds(-121.5), T0.AddSeconds(-61.5), T0.AddSeconds(-1.5) };
        var result = engine.CatchUp("late", slots);
        Assert.True(result.Ok, result.Message);
        await RecordingPort.Eventually(() => Port.Seen.Count == 3, "three caught-up fires");
        Assert.Equal(slots.Select(LoomTime.Format), Port.Seen.Select(s => s.Message.ScheduledFor));
        Assert.Equal(slots.Select(LoomTime.Format), _gate.Claimed);
        Assert.False(engine.CatchUp("nope", slots).Ok);
    }

    [Fact]
    public async Task A_slot_that_comes_due_during_a_catch_up_fires_after_it_instead_of_being_skipped()
    {
        var release = new TaskCompletionSource();
        Port.Gates["late"] = release.Task;
        var engine = StartGated(null, TestSchedules.Interval("late", 60)); // next grid slot: 03:00:00, 1.5 s away
        await Settle();
        var missed = new[] { T0.AddSeconds(-61.5), T0.AddSeconds(-1.5) };
        Assert.True(engine.CatchUp("late", missed).Ok);
        await RecordingPort.Eventually(() => Port.Blocked == 1, "the catch-up is publishing");
        await AdvanceAsync(TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(0.5));

        release.SetResult();
        await RecordingPort.Eventually(() => Port.Seen.Count == 3, "both missed slots and the regular one");
        Assert.Equal(["2026-11-27T02:58:57Z", "2026-11-27T02:59:57Z", "2026-11-27T03:00:00Z"], Port.Seen.Select(x => x.Message.ScheduledFor));
        Assert.Equal(0, StatusOf("late").Skipped);
    }

    [Fact]
    public async Task A_catch_up_given_while_a_fire_waits_on_its_claim_fires_after_it_in_slot_order_with_the_slots_queued_behind_it()
    {
        _gate.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var engine = StartGated(null, TestSchedules.Interval("held", 1, catchUp: new CatchUpOptions(CatchUpPolicy.All, 60)));
        StuckOnPurpose = 1; // the first fire (02:59:59) waits at the gate; 03:00:00 and 03:00:01 queue behind it
        await AdvanceAsync(TimeSpan.FromSeconds(2.5), TimeSpan.FromMilliseconds(500));
        Assert.True(StatusOf("held").Running);

        // A take-over's catch-up from before the waiting fire; the gate lets that fire go unclaimed, as the
        // take-over fires its slot with the rest.
        var result = engine.CatchUp("held", [T0.AddSeconds(-1.5), T0.AddSeconds(-0.5), T0.AddSeconds(0.5)]);
        Assert.True(result.Ok, result.Message);
        Assert.Contains("after its running fire", result.Message);
        _gate.RefuseOnce["2026-11-27T02:59:59Z"] = true;
        var hold = _gate.Hold;
        _gate.Hold = null;
        hold.SetResult();
        StuckOnPurpose = 0;
        await RecordingPort.Eventually(() => Port.Seen.Count == 5 && !StatusOf("held").Running, "the catch-up and the queued slots");
        await Settle();

        string[] inOrder = ["2026-11-27T02:59:57Z", "2026-11-27T02:59:58Z", "2026-11-27T02:59:59Z", "2026-11-27T03:00:00Z", "2026-11-27T03:00:01Z"];
        Assert.Equal(inOrder, Port.Seen.Select(s => s.Message.ScheduledFor));
        Assert.Equal(inOrder, _gate.Claimed);
    }

    [Theory]
    // A restart with state: the record says 02:59:52, so 02:59:53 to 02:59:58 were missed while nothing ran.
    [InlineData(CatchUpPolicy.Skip, new string[0], 6, "0 of them, 6 counted missed")]
    [InlineData(CatchUpPolicy.Once, new[] { "2026-11-27T02:59:58Z" }, 5, "1 of them (2026-11-27T02:59:58Z), 5 counted missed")]
    [InlineData(CatchUpPolicy.All, new[] { "2026-11-27T02:59:56Z", "2026-11-27T02:59:57Z", "2026-11-27T02:59:58Z" }, 3,
        "3 of them (2026-11-27T02:59:56Z to 2026-11-27T02:59:58Z), 3 counted missed")]
    public async Task A_take_over_says_how_many_slots_were_missed_while_nothing_ran_and_counts_those_it_does_not_fire(
        CatchUpPolicy policy, string[] fired, long missed, string said)
    {
        var log = new RecordingLogger();
        var schedule = TestSchedules.Interval("tick", 1, catchUp: new CatchUpOptions(policy, 3));
        var engine = StartGated(null, log, schedule);
        await Settle();
        var plan = CatchUpPlanner.TakeOver(schedule.Trigger, DateTimeOffset.UnixEpoch, T0.AddSeconds(-6.5), false, null, false,
            Time.GetUtcNow(), schedule.CatchUp!, engine.StartedAt);

        Assert.True(engine.TakeOver("tick", plan).Ok);
        await RecordingPort.Eventually(() => Port.Seen.Count == fired.Length && !StatusOf("tick").Running, "the catch-up");
        await Settle();

        Assert.Equal(fired, Port.Seen.Select(s => s.Message.ScheduledFor));
        Assert.Equal(missed, StatusOf("tick").Missed);
        var line = Assert.Single(log.Lines, l => l.EventId == 9);
        Assert.Equal($"catch-up tick: 6 missed slot(s) from 2026-11-27T02:59:53Z to 2026-11-27T02:59:58Z; catch_up {policy.ToString().ToLowerInvariant()} fires {said}", line.Text);
    }

    [Fact]
    public async Task Pausing_a_schedule_whose_fire_waits_on_its_claim_drops_the_slots_queued_behind_it()
    {
        _gate.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var engine = StartGated(null, TestSchedules.Interval("held", 1, catchUp: new CatchUpOptions(CatchUpPolicy.All, 60)));
        StuckOnPurpose = 1;
        await AdvanceAsync(TimeSpan.FromSeconds(2.5), TimeSpan.FromMilliseconds(500));
        Assert.True(engine.Pause("held").Ok);

        var hold = _gate.Hold;
        _gate.Hold = null;
        hold.SetResult();
        StuckOnPurpose = 0;
        await RecordingPort.Eventually(() => !StatusOf("held").Running, "the waiting fire ends");
        await AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500));
        await Settle();

        // The fire in flight finishes, as a running fire does when its schedule is paused; nothing after it.
        Assert.Equal(["2026-11-27T02:59:59Z"], Port.Seen.Select(s => s.Message.ScheduledFor));
    }
}
