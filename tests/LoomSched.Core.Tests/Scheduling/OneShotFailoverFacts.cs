using System.Collections.Concurrent;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;

namespace LoomSched.Tests.Scheduling;

/// <summary>
/// A one-shot under coordination: two engines share one record per schedule, claimed and completed by the rule of the
/// state bucket's gate (a slot at or before a done one, or claimed by another, is not claimable). The take-over does
/// what the coordinator does: it re-publishes a slot its previous owner left claimed, and catches up the slots after
/// the recorded one by the catch-up policy (a one-shot has none after its instant).
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

    private static SchedulerConfig Config() => ConfigLoader.LoadText(
        "name: sched\ncatch_up: {policy: all, window_seconds: 86400}\nschedules:\n  - name: once\n    at: 2027-03-01T09:00:10Z\n    task: {worker_type: w}\n",
        "t.yaml").Config!;

    /// <summary>The take-over's catch-up for the schedule, as the coordinator plans it from the record.</summary>
    private List<DateTimeOffset> TakeOver(SchedulerConfig config, string instance)
    {
        var schedule = config.Schedules[0];
        var slots = new List<DateTimeOffset>();
        if (_records.TryGetValue(schedule.Name, out var record))
        {
            if (!record.Done && record.By != instance)
            {
                slots.Add(record.Slot);
            }
            slots.AddRange(CatchUpPlanner.MissedSlots(schedule.Trigger, DateTimeOffset.UnixEpoch, record.Slot, Time.GetUtcNow(), config.CatchUp));
        }
        return slots;
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

        // The leader dies; the follower takes over.
        a.Leader = false;
        b.Leader = true;
        var catchUp = TakeOver(config, "b");
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

        var catchUp = TakeOver(config, "b");
        Assert.Equal([T0.AddSeconds(10)], catchUp);
        Assert.True(engine.CatchUp("once", catchUp).Ok);
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the re-published slot");
        await AdvanceAsync(TimeSpan.FromDays(1), TimeSpan.FromHours(6));

        var message = Assert.Single(Port.Seen).Message;
        Assert.Equal(LoomTime.Format(T0.AddSeconds(10)), message.ScheduledFor);
        Assert.Equal($"sched/once/{LoomTime.Format(T0.AddSeconds(10))}/0", message.MessageId);
        Assert.Equal(new Record(T0.AddSeconds(10), true, "b"), _records["once"]);
        Assert.Empty(TakeOver(config, "c"));
    }
}
