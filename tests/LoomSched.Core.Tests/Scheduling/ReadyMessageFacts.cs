using System.Text.Json;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;

namespace LoomSched.Tests.Scheduling;

/// <summary>
/// Ready-made messages: in the last stretch before a slot (the precise wake lead) the loop builds the messages of
/// the slot's plain fires, so that at the slot they only go to the port. Here the "precise sleep" moves the fake
/// clock, by more than it was asked when a test wants the fire to start late, and can act in between.
/// </summary>
public sealed class ReadyMessageFacts() : EngineHarness(T0)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-27T02:59:30Z");
    private static readonly TimeSpan Lead = TimeSpan.FromMilliseconds(5);

    private Action? _beforeSlot;

    private EngineOptions Options(TimeSpan overshoot) => new()
    {
        PreciseWakeLead = Lead,
        PreciseSleep = d =>
        {
            var act = _beforeSlot;
            _beforeSlot = null;
            act?.Invoke();
            Clock.Advance(d + overshoot);
        },
    };

    private static JsonElement Body(DispatchMessage message) => JsonDocument.Parse(message.Body).RootElement;

    /// <summary>Moves the clock to the lead before the first slot (02:59:31Z): the loop does the rest itself.</summary>
    private async Task ToFirstSlotAsync()
    {
        await Settle();
        Clock.Advance(TimeSpan.FromSeconds(1) - Lead);
        // The loop's precise sleep moves the clock past the slot; then it goes to sleep for the next one.
        await RecordingPort.Eventually(() => Clock.GetUtcNow() >= T0.AddSeconds(1), "the loop to reach the slot");
        await Settle();
    }

    [Fact]
    public async Task A_plain_fire_sends_the_message_made_ready_before_its_slot_whose_created_at_is_the_slot()
    {
        StartWith(Options(overshoot: TimeSpan.FromMilliseconds(20)), TestSchedules.Interval("a", 1));
        await ToFirstSlotAsync();
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the first fire");

        // The fire started 20 ms after its slot, yet its message was made before it.
        Assert.Equal(20, StatusOf("a").LastLatenessMs);
        var body = Body(Port.Seen[0].Message);
        Assert.Equal("2026-11-27T02:59:31Z", body.GetProperty("created_at").GetString());
        Assert.Equal("2026-11-27T02:59:31Z", body.GetProperty("metadata").GetProperty("scheduled_for").GetString());
        Assert.Equal("test_scheduler/a/2026-11-27T02:59:31Z/0", Port.Seen[0].Message.MessageId);
        Assert.Same(Port.Seen[0].Message.MessageId, Port.Seen[0].Message.MessageId); // spelled ahead, not by the publisher
    }

    [Fact]
    public async Task The_fired_line_spells_milliseconds_to_three_decimals_and_names_its_values()
    {
        var log = new RecordingLogger();
        StartWith(Options(overshoot: TimeSpan.FromTicks(201_234)) with { LoggerFactory = log }, TestSchedules.Interval("a", 1));
        await ToFirstSlotAsync();
        await RecordingPort.Eventually(() => log.Lines.Any(l => l.EventId == 1), "the fired line");

        Assert.Matches(@"^fired a slot=2026-11-27T02:59:31Z messages=1 late_ms=20\.123 took_ms=[0-9.]+$", log.Lines.Single(l => l.EventId == 1).Text);
        var fields = log.Fields.Single(f => f.EventId == 1).Fields.ToDictionary(f => f.Key, f => f.Value);
        Assert.Equal("a", fields["Schedule"]);
        Assert.Equal("2026-11-27T02:59:31Z", fields["Slot"]);
        Assert.Equal(1, fields["Messages"]);
        Assert.Equal(20.1234, (double)fields["LatenessMs"]!, 6);
        Assert.IsType<double>(fields["DurationMs"]);
        Assert.StartsWith("fired {Schedule} slot={Slot}", (string)fields["{OriginalFormat}"]!);
    }

    [Fact]
    public async Task A_fire_that_starts_over_100_ms_after_its_slot_builds_its_own_message_with_the_time_it_started()
    {
        StartWith(Options(overshoot: TimeSpan.FromMilliseconds(150)), TestSchedules.Interval("a", 1));
        await ToFirstSlotAsync();
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the first fire");

        Assert.Equal("2026-11-27T02:59:31.150000Z", Body(Port.Seen[0].Message).GetProperty("created_at").GetString());
    }

    [Fact]
    public async Task A_schedule_paused_after_its_message_was_made_ready_sends_nothing_and_later_sends_fresh_messages()
    {
        StartWith(Options(overshoot: TimeSpan.Zero), TestSchedules.Interval("a", 1));
        _beforeSlot = () => Engine!.Pause("a");
        await ToFirstSlotAsync();
        Assert.Empty(Port.Seen);
        Assert.True(StatusOf("a").Paused);

        Engine!.Resume("a");
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the fire after resume");
        var body = Body(Port.Seen[0].Message);
        Assert.Equal("2026-11-27T02:59:32Z", body.GetProperty("metadata").GetProperty("scheduled_for").GetString());
        Assert.Equal("2026-11-27T02:59:32Z", body.GetProperty("created_at").GetString());
    }

    [Fact]
    public async Task A_reload_after_the_message_was_made_ready_sends_the_reloaded_payload()
    {
        StartWith(Options(overshoot: TimeSpan.Zero), TestSchedules.Interval("a", 1, payload: TestSchedules.Map(("version", 1))));
        _beforeSlot = () => Engine!.Reload(TestSchedules.Config(
            TestSchedules.Interval("a", 1, payload: TestSchedules.Map(("version", 2)))));
        await ToFirstSlotAsync();
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the first fire");

        Assert.Equal(2, Body(Port.Seen[0].Message).GetProperty("payload").GetProperty("version").GetInt32());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_one_of_a_thousand_fires_due_at_once_sends_one_distinct_message_made_ready_for_it(bool handOver)
    {
        Port.HandOverLimit = handOver ? int.MaxValue : null;
        var schedules = Enumerable.Range(0, 1000).Select(i => TestSchedules.Interval($"s{i:D4}", 1)).ToArray();
        StartWith(Options(overshoot: TimeSpan.Zero), schedules);
        await ToFirstSlotAsync();
        await RecordingPort.Eventually(() => Port.Seen.Count == 1000, "a thousand fires");
        Assert.Equal(handOver ? [1000] : [], Port.HandOvers);

        var bodies = Port.Seen.Select(s => Body(s.Message)).ToList();
        Assert.All(bodies, b => Assert.Equal("2026-11-27T02:59:31Z", b.GetProperty("created_at").GetString()));
        Assert.Equal(1000, bodies.Select(b => b.GetProperty("task_id").GetString()).Distinct().Count());
        Assert.Equal(schedules.Select(s => s.Name).Order(StringComparer.Ordinal),
            bodies.Select(b => b.GetProperty("metadata").GetProperty("scheduled_by").GetString()!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_expansion_fire_is_not_made_ready_and_its_messages_carry_the_time_it_started()
    {
        var registry = new ExpansionRegistry().Add("two", (_, _) =>
            ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(
                [TestSchedules.Map(("n", 1L)), TestSchedules.Map(("n", 2L))]), "Tests.two");
        StartWith(Options(overshoot: TimeSpan.FromMilliseconds(20)) with { Registry = registry },
            TestSchedules.Interval("fan", 1, expandFrom: "two"));
        await ToFirstSlotAsync();
        await RecordingPort.Eventually(() => Port.Seen.Count == 2, "both expansion messages");

        Assert.All(Port.Seen, s => Assert.Equal("2026-11-27T02:59:31.020000Z", Body(s.Message).GetProperty("created_at").GetString()));
    }

    // --- the hand-over: at the slot, every ready message goes to the port at once, before any fire's bookkeeping ---

    [Fact]
    public async Task At_the_slot_the_ready_messages_go_to_the_port_in_one_hand_over_and_each_fire_counts_its_own()
    {
        Port.HandOverLimit = int.MaxValue;
        StartWith(Options(overshoot: TimeSpan.FromMilliseconds(20)),
            TestSchedules.Interval("a", 1), TestSchedules.Interval("b", 1), TestSchedules.Interval("c", 1));
        await ToFirstSlotAsync();
        await RecordingPort.Eventually(() => Engine!.DispatchedTotal == 3, "three fires accounted");

        Assert.Equal([3], Port.HandOvers);
        Assert.Equal(["a", "b", "c"], Port.Seen.Select(s => s.Message.ScheduleName));
        Assert.All(["a", "b", "c"], name =>
        {
            var status = StatusOf(name);
            Assert.Equal((1, 1, 20.0), (status.Fires, status.Dispatched, status.LastLatenessMs));
        });
    }

    [Fact]
    public async Task A_schedule_paused_after_its_message_was_made_ready_is_left_out_of_the_hand_over()
    {
        Port.HandOverLimit = int.MaxValue;
        StartWith(Options(overshoot: TimeSpan.Zero), TestSchedules.Interval("a", 1), TestSchedules.Interval("b", 1));
        _beforeSlot = () => Engine!.Pause("b");
        await ToFirstSlotAsync();
        await RecordingPort.Eventually(() => Engine!.DispatchedTotal == 1, "a's fire");

        Assert.Equal([1], Port.HandOvers);
        Assert.Equal(["a"], Port.Seen.Select(s => s.Message.ScheduleName));
        Assert.Equal(0, StatusOf("b").Fires);
    }

    [Fact]
    public async Task Ready_messages_the_port_cannot_take_at_once_are_sent_by_their_own_fires_each_once()
    {
        Port.HandOverLimit = 1;
        StartWith(Options(overshoot: TimeSpan.Zero),
            TestSchedules.Interval("a", 1), TestSchedules.Interval("b", 1), TestSchedules.Interval("c", 1));
        await ToFirstSlotAsync();
        await RecordingPort.Eventually(() => Engine!.DispatchedTotal == 3, "three fires accounted");
        await Settle();

        Assert.Equal([1], Port.HandOvers);
        Assert.Equal(["a", "b", "c"], Port.Seen.Select(s => s.Message.ScheduleName).Order(StringComparer.Ordinal));
        Assert.Equal(3, Port.Seen.Select(s => s.Message.MessageId).Distinct(StringComparer.Ordinal).Count());
    }
}
