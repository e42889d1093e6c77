using System.Collections.Concurrent;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;

namespace LoomSched.Tests.Scheduling;

/// <summary>
/// A one-shot under coordination: two engines share one record per schedule, claimed and completed by the rule of the
/// state bucket's gate (a slot at or before a done one, or claimed by another, is not claimable). The take-over plans
/// as the coordinator does (<see cref="CatchUpPlanner.TakeOver"/>): it re-publishes a slot its previous owner
/// left claimed, catches up the slots after the recorded one by the catch-up policy (a one-shot has none after its
/// instant), and fires a one-shot whose instant came due in the new owner while nobody claimed it.
/// </summary>
public sealed class OneShotFailoverFacts() : EngineHarness(T0)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2027-03-01T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private sealed record Record(DateTimeOffset Slot, bool Done, string By);

    /// <summary>The shared state bucket: one record per schedule.</summary>
    private readonly ConcurrentDictionary<string, Record> _records = new();

    private sealed class SharedGate(OneShotFailoverFacts owner, string instance) : ISlotGate
    {
        public volatile bool Leader;

        public bool MayPublish => Leader;

        public ValueTask<bool> TryClaimAsync(ScheduleDefinition schedule, DateTimeOffset slot, CancellationToken cancellationToken)
        {
            if (!Leader)
            {
                return ValueTask.FromResult(false);
            }
            lock (owner._records)
            {
                if (owner._records.TryGetValue(schedule.Name, out var current)
                    && (current.Slot > slot || (current.Slot == slot && (current.Done || current.By == instance))))
                {
                    return ValueTask.FromResult(false);
                }
                owner._records[schedule.Name] = new Record(slot, false, instance);
                return ValueTask.FromResult(true);
            }
        }

        public ValueTask CompleteAsync(ScheduleDefinition schedule, DateTimeOffset slot, CancellationToken cancellationToken)
        {
            lock (owner._records)
            {
                owner._records[schedule.Name] = new Record(slot, true, instance);
            }
            return ValueTask.CompletedTask;
        }
    }

    private static readonly DateTimeOffset At = T0.AddSeconds(10);

    private static SchedulerConfig Config(string policy = "all") => ConfigLoader.LoadText(
        $"name: sched\ncatch_up: {{policy: {policy}, window_seconds: 86400}}\nschedules:\n  - name: once\n    at: 2027-03-01T09:00:10Z\n    task: {{worker_type: w}}\n",
        "t.yaml").Config!;

    /// <summary>The take-over's catch-up for the schedule, as the coordinator plans it from the record and the new owner's engine.</summary>
    private List<DateTimeOffset> TakeOver(SchedulerConfig config, string instance, SchedulerEngine engine)
    {
        var schedule = config.Schedules[0];
        var here = engine.Status().Schedules.Single(s => s.Name == schedule.Name);
        var record = _records.TryGetValue(schedule.Name, out var r) ? r : null;
        var now = Time.GetUtcNow();
        return [.. CatchUpPlanner.TakeOver(schedule.Trigger, DateTimeOffset.UnixEpoch, record?.Slot, record is { Done: false } && record.By != instance,
            here.LastDue, here.Paused, now, schedule.CatchUp ?? config.CatchUp, waitingSince: now).Slots];
    }

    private (SharedGate Gate, RecordingPort Port, SchedulerEngine Engine, Task Loop) Replica(SchedulerConfig config, string instance)
    {
        var gate = new SharedGate(this, instance);
        var port = new RecordingPort(Clock);
        var engine = new SchedulerEngine(config, port, Time, new EngineOptions { SlotGate = gate, IntervalAnchor = DateTimeOffset.UnixEpoch });
        return (gate, port, engine, Task.Run(() => engine.RunAsync(Stop.Token)));
    }

    [Fact]
    public async Task A_one_shot_fired_by_the_leader_does_not_fire_again_after_a_failover()
    {
        var config = Config();
        var a = new SharedGate(this, "a") { Leader = true };
        var b = new SharedGate(this, "b");
        StartWith(config, new EngineOptions { SlotGate = a, IntervalAnchor = DateTimeOffset.UnixEpoch, LoggerFactory = new RecordingLogger() });
        var portB = new RecordingPort(Clock);
        var engineB = new SchedulerEngine(config, portB, Time, new EngineOptions { SlotGate = b, IntervalAnchor = DateTimeOffset.UnixEpoch });
        var loopB = Task.Run(() => engineB.RunAsync(Stop.Token));

        await AdvanceAsync(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the leader's fire");
        await RecordingPort.Eventually(() => _records.TryGetValue("once", out var r) && r.Done, "the leader's record completed");

        // The leader dies; the follower takes over.
        a.Leader = false;
        b.Leader = true;
        var catchUp = TakeOver(config, "b", engineB);
        Assert.Empty(catchUp);
        await AdvanceAsync(TimeSpan.FromDays(2), TimeSpan.FromHours(6));

        Assert.Single(Port.Seen);
        Assert.Empty(portB.Seen);
        Assert.Equal(new Record(T0.AddSeconds(10), true, "a"), _records["once"]);
        // The follower's loop runs on its own: its view comes once it has passed the slot.
        await RecordingPort.Eventually(() => engineB.Status().Schedules[0] is { Done: true, NotClaimed: 1 }, "the follower's done one-shot");
        await Stop.CancelAsync();
        await loopB.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_one_shot_its_leader_claimed_and_died_with_is_sent_by_the_next_leader_under_the_same_id()
    {
        var config = Config();
        var b = new SharedGate(this, "b") { Leader = true };
        // The old leader claimed the slot and died before its message was confirmed.
        _records["once"] = new Record(T0.AddSeconds(10), false, "a");
        Clock.Advance(TimeSpan.FromSeconds(20));
        var engine = StartWith(config, new EngineOptions { SlotGate = b, IntervalAnchor = DateTimeOffset.UnixEpoch, LoggerFactory = new RecordingLogger() });

        var catchUp = TakeOver(config, "b", engine);
        Assert.Equal([T0.AddSeconds(10)], catchUp);
        Assert.True(engine.CatchUp("once", catchUp).Ok);
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the re-published slot");
        await AdvanceAsync(TimeSpan.FromDays(1), TimeSpan.FromHours(6));

        var message = Assert.Single(Port.Seen).Message;
        Assert.Equal(LoomTime.Format(T0.AddSeconds(10)), message.ScheduledFor);
        Assert.Equal($"sched/once/{LoomTime.Format(T0.AddSeconds(10))}/0", message.MessageId);
        await RecordingPort.Eventually(() => _records["once"].Done, "the record completed after the send");
        Assert.Equal(new Record(T0.AddSeconds(10), true, "b"), _records["once"]);
        Assert.Empty(TakeOver(config, "c", engine));
    }

    [Theory]
    [InlineData("skip")]
    [InlineData("all")]
    public async Task A_one_shot_whose_instant_passes_while_nobody_leads_is_fired_once_by_the_replica_that_takes_over(string policy)
    {
        var config = Config(policy);
        var a = new SharedGate(this, "a") { Leader = true };
        StartWith(config, new EngineOptions { SlotGate = a, IntervalAnchor = DateTimeOffset.UnixEpoch, LoggerFactory = new RecordingLogger() });
        var b = Replica(config, "b");
        await AdvanceAsync(TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(1));

        // The leader dies just before the instant, which passes before its lease lapses: the follower sees it due, unclaimed.
        a.Leader = false;
        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => b.Engine.Status().Schedules[0].LastDue == At, "the follower's loop past the instant");
        Assert.Empty(Port.Seen);
        Assert.Empty(b.Port.Seen);
        Assert.Empty(_records);

        b.Gate.Leader = true;
        var catchUp = TakeOver(config, "b", b.Engine);
        Assert.Equal([At], catchUp);
        Assert.True(b.Engine.CatchUp("once", catchUp).Ok);
        await RecordingPort.Eventually(() => b.Port.Seen.Count == 1, "the new leader's fire");
        await AdvanceAsync(TimeSpan.FromDays(1), TimeSpan.FromHours(6));

        var message = Assert.Single(b.Port.Seen).Message;
        Assert.Equal($"sched/once/{LoomTime.Format(At)}/0", message.MessageId);
        Assert.Empty(Port.Seen);
        // The record is completed once the send is confirmed, on the fire's own thread.
        await RecordingPort.Eventually(() => _records["once"].Done, "the record completed after the send");
        Assert.Equal(new Record(At, true, "b"), _records["once"]);
        await RecordingPort.Eventually(() => b.Engine.Status().Schedules[0] is { Done: true, Fires: 1 }, "the new leader's done one-shot");
        // A later take-over by another replica that saw the instant come (as b did) finds it done.
        Assert.Empty(TakeOver(config, "c", b.Engine));
        await Stop.CancelAsync();
        await b.Loop.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_one_shot_whose_instant_passed_before_the_replica_started_is_not_fired_by_its_take_over()
    {
        var config = Config();
        Clock.Advance(TimeSpan.FromSeconds(20));
        var b = new SharedGate(this, "b") { Leader = true };
        var engine = StartWith(config, new EngineOptions { SlotGate = b, IntervalAnchor = DateTimeOffset.UnixEpoch, LoggerFactory = new RecordingLogger() });
        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1));

        Assert.Empty(TakeOver(config, "b", engine));
        Assert.Empty(Port.Seen);
        Assert.True(StatusOf("once").Done);
    }

    [Fact]
    public async Task A_one_shot_paused_when_its_unclaimed_instant_passed_is_not_fired_by_the_take_over()
    {
        var config = Config();
        var b = new SharedGate(this, "b");
        var engine = StartWith(config, new EngineOptions { SlotGate = b, IntervalAnchor = DateTimeOffset.UnixEpoch, LoggerFactory = new RecordingLogger() });
        await AdvanceAsync(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(1));
        Assert.Equal(At, StatusOf("once").LastDue);

        // The previous leader's pause, as the take-over reads it from the state bucket.
        Assert.True(engine.Pause("once").Ok);
        b.Leader = true;
        Assert.Empty(TakeOver(config, "b", engine));
        Assert.Empty(Port.Seen);
    }
}
