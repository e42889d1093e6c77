using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Scheduling;

/// <summary>The fire runner alone, on a fake clock: one decided fire in, messages to the port and the schedule's counts out.</summary>
public sealed class FireRunnerFacts
{
    private static readonly DateTimeOffset Slot = DateTimeOffset.Parse("2026-11-27T03:00:00Z");

    private readonly FakeTimeProvider _clock = new(Slot.AddMilliseconds(7));
    private readonly RecordingPort _port;
    private readonly Lock _gate = new();

    public FireRunnerFacts() => _port = new RecordingPort(_clock);

    private FireRunner Runner(ISlotGate? slotGate = null)
    {
        var log = new EngineLog(NullLogger.Instance);
        return new FireRunner(_gate, _port, _clock, slotGate, new ExpansionRunner(new EngineOptions(), _clock), new FiredLines(log, _port, _clock), log);
    }

    private static (ScheduleState State, Fire Fire, MessageBuilder Builder) Decided(
        ScheduleDefinition definition, IReadOnlyList<DateTimeOffset>? catchUp = null, bool inline = true)
    {
        var builder = new MessageBuilder(TestSchedules.Config(definition), TimeProvider.System);
        var state = new ScheduleState(definition, Slot.AddSeconds(-10)) { Running = true, Backlog = catchUp is null ? null : new() };
        return (state, new Fire(state, definition, builder, catchUp?[0] ?? Slot, manual: false, catchUp) { Inline = inline }, builder);
    }

    [Fact]
    public async Task A_plain_fire_sends_one_message_counts_it_and_frees_its_schedule()
    {
        var runner = Runner();
        var (state, fire, _) = Decided(TestSchedules.Interval("a", 10));

        runner.Launch(fire);
        await RecordingPort.Eventually(() => runner.InFlight == 0 && !state.Running, "the fire to end");

        var message = Assert.Single(_port.Seen).Message;
        Assert.Equal("test_scheduler/a/2026-11-27T03:00:00Z/0", message.MessageId);
        Assert.Equal((1, 1, Slot, TimeSpan.FromMilliseconds(7)), (state.Fires, state.Dispatched, state.LastSlot, state.LastLateness));
        Assert.Equal(1, runner.DispatchedTotal);
    }

    [Fact]
    public async Task A_fire_whose_ready_message_the_port_took_only_accounts_for_it_as_started_at_the_hand_over()
    {
        var runner = Runner();
        var (state, fire, builder) = Decided(TestSchedules.Interval("a", 10));
        var messages = builder.ForFire(fire.Definition, Slot);
        fire.Ready = new ReadyMessage(state.Version, builder, Slot, messages, messages.Message(messages.BuildBody(null, createdAt: Slot), 0))
        {
            Handed = true,
            HandedAt = Slot.AddMilliseconds(1),
        };

        runner.Launch(fire);
        await RecordingPort.Eventually(() => !state.Running, "the fire to end");

        Assert.Empty(_port.Seen);
        Assert.Equal((1, 1, TimeSpan.FromMilliseconds(1)), (state.Fires, state.Dispatched, state.LastLateness));
    }

    [Fact]
    public async Task A_catch_up_run_fires_its_slots_then_those_queued_behind_it_in_order()
    {
        var runner = Runner();
        var (state, fire, _) = Decided(TestSchedules.Interval("a", 10), catchUp: [Slot.AddSeconds(-20), Slot.AddSeconds(-10)], inline: false);
        lock (_gate)
        {
            state.Backlog!.Enqueue(Slot);
        }

        runner.Launch(fire);
        await RecordingPort.Eventually(() => runner.InFlight == 0 && !state.Running, "the run to end");

        Assert.Equal(["2026-11-27T02:59:40Z", "2026-11-27T02:59:50Z", "2026-11-27T03:00:00Z"], _port.Seen.Select(s => s.Message.ScheduledFor));
        Assert.Null(state.Backlog);
        Assert.Equal(3, state.Fires);
    }

    [Fact]
    public async Task A_fire_the_slot_gate_does_not_grant_sends_nothing_and_counts_the_slot_not_claimed()
    {
        var runner = Runner(new RefusingGate());
        var (state, fire, _) = Decided(TestSchedules.Interval("a", 10), inline: false);

        runner.Launch(fire);
        await RecordingPort.Eventually(() => runner.InFlight == 0 && !state.Running, "the fire to end");

        Assert.Empty(_port.Seen);
        Assert.Equal((0, 1), (state.Fires, state.NotClaimed));
    }

    [Fact]
    public async Task A_failing_publish_counts_an_error_with_its_reason_and_frees_the_schedule()
    {
        var runner = Runner();
        var (state, fire, _) = Decided(TestSchedules.Interval("a", 10));
        _port.Failures["a"] = new TimeoutException("NATS is away");

        runner.Launch(fire);
        await RecordingPort.Eventually(() => runner.InFlight == 0 && !state.Running, "the fire to end");

        Assert.Equal((1, 0, 1), (state.Fires, state.Dispatched, state.Errors));
        Assert.Equal("TimeoutException: NATS is away", state.LastError);
    }

    [Fact]
    public async Task A_failure_with_a_huge_message_is_kept_as_its_start_and_end()
    {
        var runner = Runner();
        var (state, fire, _) = Decided(TestSchedules.Interval("a", 10));
        _port.Failures["a"] = new TimeoutException("refused: " + new string('x', 1_000_000) + " (the end)");

        runner.Launch(fire);
        await RecordingPort.Eventually(() => runner.InFlight == 0 && !state.Running, "the fire to end");

        Assert.Equal(1, state.Errors);
        Assert.StartsWith("TimeoutException: refused: xxx", state.LastError, StringComparison.Ordinal);
        Assert.EndsWith("xxx (the end)", state.LastError, StringComparison.Ordinal);
        Assert.InRange(state.LastError!.Length, 300, 450);
    }

    private sealed class RefusingGate : ISlotGate
    {
        public bool MayPublish => true;

        public ValueTask<bool> TryClaimAsync(ScheduleDefinition schedule, DateTimeOffset slot, CancellationToken cancellationToken) =>
            ValueTask.FromResult(false);

        public ValueTask CompleteAsync(ScheduleDefinition schedule, DateTimeOffset slot, CancellationToken cancellationToken) =>
            ValueTask.CompletedTask;
    }
}
