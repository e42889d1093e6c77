using System.Text.Json;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;
using LoomSched.Triggers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Scheduling;

/// <summary>
/// The timer loop under a fake clock: every instant is exact. Fires run on their own tasks, so assertions on
/// what they published wait (in real time) for the fires to finish; the fake clock only moves when a test moves it.
/// </summary>
public sealed class SchedulerEngineFacts() : EngineHarness(T0)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-27T02:59:30Z");

    private static IReadOnlyList<string> Slots(IEnumerable<DispatchMessage> messages) =>
        [.. messages.Select(m => m.ScheduledFor)];

    // --- intervals ---

    [Fact]
    public async Task Interval_schedule_first_fires_one_interval_after_start_then_on_the_grid()
    {
        Start(null, TestSchedules.Interval("poll", 10));
        await AdvanceAsync(TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(1));
        Assert.Empty(Port.Seen);

        await AdvanceAsync(TimeSpan.FromSeconds(21), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Seen.Count == 3, "three fires");
        Assert.Equal(["2026-11-27T02:59:40Z", "2026-11-27T02:59:50Z", "2026-11-27T03:00:00Z"], Slots(Port.Of("poll")));
        Assert.All(Port.Seen, s => Assert.Equal(s.Message.ScheduledFor, LoomTime.Format(s.At)));
    }

    [Fact]
    public async Task Fractional_interval_fires_on_time_at_each_slot()
    {
        Start(null, TestSchedules.Interval("fast", 0.25));
        await AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(250));
        await RecordingPort.Eventually(() => Port.Seen.Count == 8, "eight fires");
        Assert.Equal(
            Enumerable.Range(1, 8).Select(k => LoomTime.Format(T0.AddMilliseconds(250 * k))),
            Slots(Port.Of("fast")));
        Assert.Equal(0, StatusOf("fast").Missed);
    }

    [Fact]
    public async Task After_a_stall_a_schedule_fires_once_then_resumes_its_cadence()
    {
        Start(null, TestSchedules.Interval("poll", 10));
        await Settle();
        Clock.Advance(TimeSpan.FromSeconds(105)); // slots at 10..100 s all passed while "suspended"
        await Settle();
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "one catch-up fire");
        await Task.Delay(50);
        Assert.Single(Port.Seen);
        Assert.Equal(9, StatusOf("poll").Missed);
        Assert.Equal(T0.AddSeconds(110), StatusOf("poll").NextFire);

        await AdvanceAsync(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => Port.Seen.Count == 2, "back on cadence");
        Assert.Equal(LoomTime.Format(T0.AddSeconds(110)), Port.Seen[1].Message.ScheduledFor);
    }

    // --- the wall clock set back ---

    [Fact]
    public async Task When_the_wall_clock_is_set_back_an_interval_schedule_keeps_firing_every_interval_on_its_grid()
    {
        var log = new RecordingLogger();
        StartWith(new EngineOptions { LoggerFactory = log }, TestSchedules.Interval("poll", 10));
        await AdvanceAsync(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the first fire");

        Time.SetBack(TimeSpan.FromHours(1)); // 02:59:40 reads 01:59:40 now
        // The loop still sleeps towards 02:59:50 (by the old time), which the harness cannot tell from caught up:
        // each step waits for its fire.
        Clock.Advance(TimeSpan.FromSeconds(10));
        await RecordingPort.Eventually(() => Port.Seen.Count == 2, "a fire ten seconds later, at 01:59:50");
        await AdvanceAsync(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));

        await RecordingPort.Eventually(() => Port.Seen.Count == 3, "the next, ten seconds after it");
        Assert.Equal(["2026-11-27T02:59:40Z", "2026-11-27T01:59:50Z", "2026-11-27T02:00:00Z"], Slots(Port.Of("poll")));
        Assert.Equal(T0.AddSeconds(40).AddHours(-1), StatusOf("poll").NextFire);
        Assert.Equal(
            "clock set back: the system clock went back 3600 s; 1 schedule(s) planned again from 2026-11-27T01:59:50Z",
            Assert.Single(log.Lines, l => l.EventId == 12).Text);
    }

    [Fact]
    public async Task When_the_wall_clock_is_set_back_a_cron_schedule_fires_its_slots_as_the_new_time_reaches_them()
    {
        Start(null, TestSchedules.Cron("minutely", "* * * * *"));
        await AdvanceAsync(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the 03:00 fire");

        Time.SetBack(TimeSpan.FromMinutes(90)); // 03:00:00 reads 01:30:00 now
        // The loop sleeps towards 03:01 by the old time: it wakes a minute later, at 01:31 by the new one.
        Clock.Advance(TimeSpan.FromMinutes(1));
        await RecordingPort.Eventually(() => Port.Seen.Count == 2, "the 01:31 fire");
        await AdvanceAsync(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(30));

        await RecordingPort.Eventually(() => Port.Seen.Count == 3, "the 01:32 fire");
        Assert.Equal(["2026-11-27T03:00:00Z", "2026-11-27T01:31:00Z", "2026-11-27T01:32:00Z"], Slots(Port.Of("minutely")));
    }

    [Fact]
    public async Task A_wall_clock_set_back_by_no_more_than_a_second_changes_no_slot()
    {
        var log = new RecordingLogger();
        StartWith(new EngineOptions { LoggerFactory = log }, TestSchedules.Interval("poll", 10));
        await AdvanceAsync(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));

        Time.SetBack(TimeSpan.FromSeconds(1)); // a leap second, or a small NTP step
        await AdvanceAsync(TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(1));

        await RecordingPort.Eventually(() => Port.Seen.Count == 2, "the next slot, a second later by the wall clock");
        Assert.Equal(["2026-11-27T02:59:40Z", "2026-11-27T02:59:50Z"], Slots(Port.Of("poll")));
        Assert.DoesNotContain(log.Lines, l => l.EventId == 12);
    }

    // --- cron ---

    [Fact]
    public async Task Six_field_cron_fires_every_second_on_the_second()
    {
        Start(null, TestSchedules.Cron("tick", "* * * * * *"));
        await AdvanceAsync(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(500));
        await RecordingPort.Eventually(() => Port.Seen.Count == 3, "three ticks");
        Assert.Equal(["2026-11-27T02:59:31Z", "2026-11-27T02:59:32Z", "2026-11-27T02:59:33Z"], Slots(Port.Of("tick")));
    }

    [Fact]
    public async Task Two_schedules_due_at_the_same_instant_both_fire()
    {
        Start(null, TestSchedules.Cron("hourly", "0 * * * *"), TestSchedules.Interval("half_minute", 30));
        await AdvanceAsync(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10));
        await RecordingPort.Eventually(() => Port.Seen.Count == 2, "both fire at 03:00:00");
        Assert.Equal(["2026-11-27T03:00:00Z"], Slots(Port.Of("hourly")));
        Assert.Equal(["2026-11-27T03:00:00Z"], Slots(Port.Of("half_minute")));
    }

    // --- isolation ---

    [Fact]
    public async Task A_blocked_publish_of_one_schedule_does_not_delay_another()
    {
        var release = new TaskCompletionSource();
        Port.Gates["stuck"] = release.Task;
        Start(null, TestSchedules.Interval("stuck", 1), TestSchedules.Interval("steady", 1));

        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Of("steady").Count == 5, "steady fires every second");
        Assert.All(Port.Seen.Where(s => s.Message.ScheduleName == "steady"), s => Assert.Equal(s.Message.ScheduledFor, LoomTime.Format(s.At)));
        Assert.Empty(Port.Of("stuck"));
        // Slots 2..5 of the stuck schedule came while its first fire was blocked: skipped, not piled up.
        Assert.Equal(4, StatusOf("stuck").Skipped);
        Assert.True(StatusOf("stuck").Running);

        release.SetResult();
        await RecordingPort.Eventually(() => Port.Of("stuck").Count == 1, "the blocked fire completes");
        await RecordingPort.Eventually(() => !StatusOf("stuck").Running, "stuck is idle again");
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Of("stuck").Count == 2, "stuck fires again on its grid");
        Assert.Equal("2026-11-27T02:59:36Z", Port.Of("stuck")[1].ScheduledFor);
    }

    [Fact]
    public async Task A_schedule_changed_while_its_fire_runs_skips_its_new_slots_until_that_fire_ends()
    {
        var release = new TaskCompletionSource();
        Port.Gates["stuck"] = release.Task;
        try
        {
            Start(null, TestSchedules.Interval("stuck", 1));
            await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            await RecordingPort.Eventually(() => StatusOf("stuck").Running, "the first fire waits in the port");

            Engine!.Change("stuck", TestSchedules.Interval("stuck", 0.5));
            await AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500));
            // A loop that falls behind the fake clock counts some of the four slots as missed rather than skipped.
            await RecordingPort.Eventually(() => StatusOf("stuck") is { } s && s.Skipped + s.Missed == 4, "the new definition's four slots are decided");
            var whileRunning = StatusOf("stuck");
            var trigger = Engine.Trigger("stuck");

            Assert.Equal(1, Engine.FiresInFlight); // the old definition's fire only: none of the new one's started beside it
            Assert.True(whileRunning.Running);
            Assert.Equal(0, whileRunning.Fires);
            Assert.False(trigger.Ok);
        }
        finally
        {
            release.TrySetResult();
        }
        await RecordingPort.Eventually(() => Engine.FiresInFlight == 0 && !StatusOf("stuck").Running, "the old fire ends");
        await AdvanceAsync(TimeSpan.FromSeconds(0.5), TimeSpan.FromMilliseconds(500));
        await RecordingPort.Eventually(() => Port.Of("stuck").Count == 2, "the new definition fires on its grid");
    }

    [Fact]
    public async Task A_fire_whose_publish_waits_goes_on_as_a_task_while_the_loop_fires_the_rest_on_time()
    {
        // Neither schedule expands: both fire on the loop's thread, until the port makes one of them wait.
        var release = new TaskCompletionSource();
        Port.Gates["stuck"] = release.Task;
        var names = new[] { "a", "stuck", "b", "c" };
        Start(null, [.. names.Select(n => TestSchedules.Interval(n, 1))]);

        await AdvanceAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Seen.Count == 9, "a, b and c fire at each of three slots");
        Assert.All(Port.Seen, s => Assert.Equal(s.Message.ScheduledFor, LoomTime.Format(s.At)));
        Assert.Equal(1, Engine!.FiresInFlight); // the waiting fire, tracked like any other
        var stuck = StatusOf("stuck");
        Assert.True(stuck.Running);
        Assert.Equal((1L, 2L, (DateTimeOffset?)T0.AddSeconds(1)), (stuck.Fires, stuck.Skipped, stuck.LastSlot));

        release.SetResult();
        await RecordingPort.Eventually(() => Port.Of("stuck").Count == 1 && Engine.FiresInFlight == 0, "the waiting fire ends");
        await RecordingPort.Eventually(() => !StatusOf("stuck").Running, "stuck is idle again");
        Assert.Equal(1, StatusOf("stuck").Dispatched);
        Assert.Equal(10, Engine.DispatchedTotal);
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Of("stuck").Count == 2, "stuck fires again on its grid");
    }

    [Fact]
    public async Task A_thousand_schedules_due_at_the_same_instant_each_fire_once_per_slot()
    {
        var schedules = Enumerable.Range(0, 1000).Select(i => TestSchedules.Interval($"s{i:D4}", 1)).ToArray();
        int whileLoopSlept = 0;
        Port.OnPublish = _ =>
        {
            if (Engine!.SleepingUntilTicks != 0)
            {
                Interlocked.Increment(ref whileLoopSlept);
            }
        };
        Start(null, schedules);
        for (int slot = 1; slot <= 2; slot++)
        {
            await Settle();
            Clock.Advance(TimeSpan.FromSeconds(1));
            await RecordingPort.Eventually(() => Engine!.SleepingUntilTicks > Clock.GetUtcNow().UtcTicks, "the loop to sleep again");
            // None needed a task: the loop handed all thousand messages over itself, before it went back to sleep.
            Assert.Equal(1000 * slot, Port.Seen.Count);
            Assert.Equal(0, Engine!.FiresInFlight);
        }
        Assert.Equal(0, whileLoopSlept);

        var bySchedule = Port.Seen.GroupBy(s => s.Message.ScheduleName).ToList();
        Assert.Equal(1000, bySchedule.Count);
        Assert.All(bySchedule, g => Assert.Equal(
            ["2026-11-27T02:59:31Z", "2026-11-27T02:59:32Z"], g.Select(s => s.Message.ScheduledFor).Order(StringComparer.Ordinal)));
        Assert.All(Port.Seen, s => Assert.Equal(s.Message.ScheduledFor, LoomTime.Format(s.At)));
        Assert.All(Engine!.Status().Schedules, s => Assert.Equal((2L, 0L, 0L, 0L, 2L, false), (s.Fires, s.Skipped, s.Missed, s.Errors, s.Dispatched, s.Running)));
        Assert.Equal(2000, Engine.DispatchedTotal);
    }

    [Fact]
    public async Task The_fired_lines_of_an_instant_are_written_once_the_port_has_sent_its_messages()
    {
        var log = new RecordingLogger();
        var sent = new TaskCompletionSource();
        Port.Sent = sent.Task;
        StartWith(new EngineOptions { LoggerFactory = log }, TestSchedules.Interval("a", 1), TestSchedules.Interval("b", 1));
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        Assert.Equal(2, Port.Seen.Count);
        Assert.DoesNotContain(log.Lines, l => l.EventId == 1);
        sent.SetResult();
        await RecordingPort.Eventually(() => log.Lines.Count(l => l.EventId == 1) == 2, "both fired lines");
        Assert.Equal(["a", "b"], log.Lines.Where(l => l.EventId == 1).Select(l => l.Text.Split(' ')[1]));
    }

    [Fact]
    public async Task The_fired_lines_are_written_50_ms_later_when_the_port_cannot_send()
    {
        var log = new RecordingLogger();
        Port.Sent = new TaskCompletionSource().Task; // NATS away: never sent
        StartWith(new EngineOptions { LoggerFactory = log }, TestSchedules.Interval("a", 1));
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        Assert.Single(Port.Seen);

        Clock.Advance(TimeSpan.FromMilliseconds(49));
        await Task.Delay(50);
        Assert.DoesNotContain(log.Lines, l => l.EventId == 1);
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        await RecordingPort.Eventually(() => log.Lines.Any(l => l.EventId == 1), "the fired line");
        Assert.Matches("^fired a slot=2026-11-27T02:59:31Z messages=1 late_ms=0 ", log.Lines.Single(l => l.EventId == 1).Text);
    }

    [Fact]
    public async Task While_the_port_cannot_send_each_instants_fired_lines_wait_50_ms_from_that_instant_not_behind_the_lines_before_them()
    {
        // Five instants 16 ms apart (NATS away, many schedules): each batch of lines is written 50 ms after its
        // own instant. Queued 50 ms behind one another, they fell further behind at every instant, without end.
        var log = new RecordingLogger();
        Port.Sent = new TaskCompletionSource().Task;
        var step = TimeSpan.FromMilliseconds(16);
        StartWith(new EngineOptions { LoggerFactory = log },
            [.. Enumerable.Range(0, 5).Select(k => TestSchedules.Interval($"s{k}", 1 + 0.016 * k))]);
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        for (int k = 1; k < 5; k++)
        {
            await AdvanceAsync(step, step);
        }
        Assert.Equal(5, Port.Seen.Count);

        Clock.Advance(TimeSpan.FromMilliseconds(50)); // the last instant's lines are 50 ms old
        await RecordingPort.Eventually(() => log.Lines.Count(l => l.EventId == 1) == 5, "every instant's fired line");
        Assert.Equal(["s0", "s1", "s2", "s3", "s4"], log.Lines.Where(l => l.EventId == 1).Select(l => l.Text.Split(' ')[1]));
    }

    [Fact]
    public async Task Every_fire_logs_one_fired_line_whether_it_ran_on_the_loop_or_waited_for_the_port()
    {
        var log = new RecordingLogger();
        var release = new TaskCompletionSource();
        Port.Gates["waits"] = release.Task;
        StartWith(new EngineOptions { LoggerFactory = log },
            TestSchedules.Interval("a", 1), TestSchedules.Interval("waits", 1), TestSchedules.Interval("b", 1));
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        release.SetResult();
        await RecordingPort.Eventually(() => Port.Seen.Count == 3 && Engine!.FiresInFlight == 0, "all three fires");

        var fired = log.Lines.Where(l => l.EventId == 1).Select(l => l.Text).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, fired.Count);
        Assert.All(fired, f => Assert.Matches("^fired (a|b|waits) slot=2026-11-27T02:59:31Z messages=1 late_ms=0 took_ms=[0-9.]+$", f));
        Assert.Equal(["a", "b", "waits"], fired.Select(f => f.Split(' ')[1]));
    }

    [Fact]
    public async Task A_failing_publish_is_counted_and_the_schedule_fires_again_at_its_next_slot()
    {
        Port.Failures["flaky"] = new InvalidOperationException("no route to NATS");
        Start(null, TestSchedules.Interval("flaky", 1), TestSchedules.Interval("steady", 1));
        await AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("flaky").Errors == 2, "two failed fires");
        Assert.Contains("no route to NATS", StatusOf("flaky").LastError);
        Assert.Equal(2, Port.Of("steady").Count);
    }

    // --- expansion ---

    private static ExpansionRegistry Registry(string name, ExpansionInvoker invoker) =>
        new ExpansionRegistry().Add(name, invoker, "Tests." + name);

    private static ValueTask<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?> Maps(int count) =>
        ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(
            Enumerable.Range(0, count).Select(i => (IEnumerable<KeyValuePair<string, object?>>)
                [new KeyValuePair<string, object?>("session", $"s{i}")]));

    [Fact]
    public async Task Expansion_publishes_one_message_per_map_with_its_index_in_the_message_id()
    {
        ExpansionContext? seen = null;
        var registry = Registry("sessions.active", (ctx, _) => { seen = ctx; return Maps(3); });
        Start(registry, TestSchedules.Interval("per_session", 5, expandFrom: "sessions.active"));
        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => Port.Seen.Count == 3, "three messages");

        var messages = Port.Of("per_session");
        Assert.Equal(["s0", "s1", "s2"], messages.Select(m =>
            JsonDocument.Parse(m.Body).RootElement.GetProperty("payload").GetProperty("session").GetString()));
        Assert.Equal(Enumerable.Range(0, 3).Select(i => $"test_scheduler/per_session/2026-11-27T02:59:35Z/{i}"), messages.Select(m => m.MessageId));
        Assert.Equal("per_session", seen!.ScheduleName);
        Assert.Equal(T0.AddSeconds(5), seen.ScheduledFor);
        Assert.Equal(3, StatusOf("per_session").Dispatched);
    }

    [Fact]
    public async Task Expansion_over_max_expansion_refuses_the_whole_fire()
    {
        Start(Registry("many", (_, _) => Maps(11)), TestSchedules.Interval("capped", 5, expandFrom: "many", maxExpansion: 10));
        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => StatusOf("capped").Errors == 1, "the fire is refused");
        Assert.Empty(Port.Seen);
        Assert.Contains("more than 10 maps", StatusOf("capped").LastError);
    }

    [Fact]
    public async Task A_big_expansion_publishes_every_map_once_in_index_order_with_its_own_id()
    {
        const int count = 10_000; // several arena chunks of bodies
        Start(Registry("many", (_, _) => Maps(count)), TestSchedules.Interval("big", 5, expandFrom: "many"));
        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => Port.Seen.Count == count, $"{count} messages");

        var messages = Port.Of("big");
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"s{i}"), messages.Select(m =>
            JsonDocument.Parse(m.Body).RootElement.GetProperty("payload").GetProperty("session").GetString()));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"test_scheduler/big/2026-11-27T02:59:35Z/{i}"), messages.Select(m => m.MessageId));
        Assert.Equal(count, messages.Select(m => JsonDocument.Parse(m.Body).RootElement.GetProperty("task_id").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task A_bad_value_deep_in_a_big_expansion_refuses_the_whole_fire_and_names_its_map()
    {
        var maps = Enumerable.Range(0, 10_000).Select(i => (IEnumerable<KeyValuePair<string, object?>>)
            [new KeyValuePair<string, object?>("v", i == 9_000 ? new object() : i)]);
        Start(Registry("bad", (_, _) => ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(maps)),
            TestSchedules.Interval("big", 5, expandFrom: "bad"));
        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => StatusOf("big").Errors == 1, "the fire is refused");

        Assert.Empty(Port.Seen);
        Assert.Contains("map 9000:", StatusOf("big").LastError);
        Assert.Contains("nothing was sent", StatusOf("big").LastError);
    }

    [Theory]
    [InlineData("throws", "expansion \"fn\" threw InvalidOperationException: boom")]
    [InlineData("null", "returned null")]
    [InlineData("null-map", "null map at index 1")]
    [InlineData("bad-value", "has no JSON form")]
    public async Task A_failing_expansion_is_counted_and_other_schedules_keep_firing(string kind, string reason)
    {
        ExpansionInvoker invoker = kind switch
        {
            "throws" => (_, _) => throw new InvalidOperationException("boom"),
            "null" => (_, _) => ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(null),
            "null-map" => (_, _) => ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(
                [[new("a", 1L)], null!]),
            _ => (_, _) => ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(
                [[new("a", new object())]]),
        };
        Start(Registry("fn", invoker), TestSchedules.Interval("bad", 1, expandFrom: "fn"), TestSchedules.Interval("steady", 1));
        await AdvanceAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("bad").Errors == 3, "three failed fires");
        Assert.Contains(reason, StatusOf("bad").LastError);
        Assert.Empty(Port.Of("bad"));
        Assert.Equal(3, Port.Of("steady").Count);
    }

    [Theory]
    [InlineData("fn: cannot read '/x': no such file or directory", "expansion \"fn\" failed: cannot read '/x': no such file or directory")]
    [InlineData("the bucket is empty", "expansion \"fn\" failed: the bucket is empty")]
    [InlineData("fnord: no such thing", "expansion \"fn\" failed: fnord: no such thing")]
    public async Task An_ExpansionException_fails_the_fire_in_its_own_words_without_its_type_or_the_function_name_twice(
        string thrown, string lastError)
    {
        Start(Registry("fn", (_, _) => throw new ExpansionException(thrown)), TestSchedules.Interval("bad", 1, expandFrom: "fn"));
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("bad").Errors == 1, "the fire fails");

        Assert.Equal(lastError, StatusOf("bad").LastError);
    }

    [Fact]
    public async Task An_ExpansionException_thrown_while_the_maps_are_read_is_shown_in_its_own_words_too()
    {
        static IEnumerable<IEnumerable<KeyValuePair<string, object?>>> Lazy()
        {
            yield return [new("i", 0L)];
            throw new ExpansionException("fn: the feed ended early");
        }
        Start(Registry("fn", (_, _) => ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(Lazy())),
            TestSchedules.Interval("bad", 1, expandFrom: "fn"));
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("bad").Errors == 1, "the fire fails");

        Assert.Equal("expansion \"fn\" failed while its maps were read: the feed ended early", StatusOf("bad").LastError);
        Assert.Empty(Port.Seen);
    }

    [Fact]
    public async Task An_expansion_that_hangs_past_its_timeout_fails_the_fire_and_frees_the_schedule()
    {
        var registry = Registry("hangs", async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, CancellationToken.None); // ignores its token on purpose
            return null;
        });
        StuckOnPurpose = 1;
        Start(registry, TestSchedules.Interval("slow", 10, expandFrom: "hangs", expandTimeoutSeconds: 2));
        await AdvanceAsync(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        await RecordingPort.Eventually(() => StatusOf("slow").Running, "the fire is running");
        await AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("slow").Errors == 1, "the fire times out");
        Assert.Contains("did not finish within 2 s", StatusOf("slow").LastError);
        Assert.False(StatusOf("slow").Running);
    }

    [Fact]
    public async Task An_expansion_left_running_past_its_timeout_is_not_called_again_for_its_schedule_until_it_returns()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        var registry = Registry("hangs", async (_, _) =>
        {
            Interlocked.Increment(ref calls);
            await release.Task; // ignores its token on purpose, as a blocking call would
            return [[new("i", 0L)]];
        });
        StuckOnPurpose = 1;
        Start(registry, TestSchedules.Interval("slow", 10, expandFrom: "hangs", expandTimeoutSeconds: 2));
        await AdvanceAsync(TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("slow").Errors == 1, "the first fire times out");

        // Two more slots while the first call still runs: each fails at once, without a second call.
        await AdvanceAsync(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("slow").Errors == 3, "the later fires fail");
        Assert.Equal(1, Volatile.Read(ref calls));
        Assert.Equal(
            "expansion \"hangs\" still runs from an earlier fire that passed its timeout (it does not stop when cancelled); it is not called again until that call returns",
            StatusOf("slow").LastError);
        Assert.False(StatusOf("slow").Running);

        // The call returns: a later slot calls the function again, once, and fires (the call's end is noticed on its
        // own thread, so the very next slot may still find it running).
        release.SetResult();
        for (int slot = 0; slot < 3 && Port.Seen.Count == 0; slot++)
        {
            await AdvanceAsync(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
            await Settle();
        }
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "a later fire sends its message");
        Assert.Equal(2, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task A_lazy_expansion_that_hangs_while_its_maps_are_read_fails_the_fire_at_its_timeout_and_frees_the_schedule()
    {
        using var never = new ManualResetEventSlim();
        IEnumerable<IEnumerable<KeyValuePair<string, object?>>> Lazy()
        {
            yield return [new("i", 0L)];
            never.Wait(); // blocks inside MoveNext, where no token reaches
            yield return [new("i", 1L)];
        }
        var registry = Registry("lazy", (_, _) => ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(Lazy()));
        StuckOnPurpose = 1;
        Start(registry, TestSchedules.Interval("slow", 10, expandFrom: "lazy", expandTimeoutSeconds: 2));
        await AdvanceAsync(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        await RecordingPort.Eventually(() => StatusOf("slow").Running, "the fire is running");
        await AdvanceAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("slow").Errors == 1, "the fire times out");

        Assert.Equal("expansion \"lazy\" did not hand over its maps within 2 s (expand_timeout_seconds); nothing was sent", StatusOf("slow").LastError);
        Assert.False(StatusOf("slow").Running);
        Assert.Empty(Port.Seen);
        never.Set(); // the reading left behind ends, and its bodies are let go
    }

    [Fact]
    public async Task What_an_expansion_function_logs_names_the_function_and_the_schedule()
    {
        var log = new RecordingLogger();
        var registry = Registry("talks", (context, _) =>
        {
            context.Logger.LogWarning("feed {Feed} is slow", "alpha");
            return ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>([[new("i", 0L)]]);
        });
        StartWith(new EngineOptions { Registry = registry, LoggerFactory = log }, TestSchedules.Interval("chatty", 1, expandFrom: "talks"));
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the fire");

        var line = Assert.Single(log.Lines, l => l.Level == LogLevel.Warning);
        Assert.Equal("feed alpha is slow", line.Text);
        Assert.Equal("expansion talks (schedule chatty)", Assert.Single(log.Categories, c => c.StartsWith("expansion ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_unregistered_expansion_function_fails_the_fire_with_its_name()
    {
        Start(null, TestSchedules.Interval("orphan", 1, expandFrom: "nowhere"));
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("orphan").Errors == 1, "one failed fire");
        Assert.Contains("\"nowhere\" is not registered", StatusOf("orphan").LastError);
    }

    // --- control ---

    [Fact]
    public async Task Trigger_fires_now_without_moving_the_next_slot()
    {
        var engine = Start(null, TestSchedules.Interval("poll", 10));
        await AdvanceAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3));
        var result = engine.Trigger("poll");
        Assert.True(result.Ok, result.Message);
        await RecordingPort.Eventually(() => Port.Seen.Count == 1, "the manual fire");
        Assert.Equal("2026-11-27T02:59:33Z", Port.Seen[0].Message.ScheduledFor);
        Assert.Equal(T0.AddSeconds(10), StatusOf("poll").NextFire);
    }

    [Fact]
    public void Control_of_an_unknown_schedule_is_refused_naming_the_known_ones()
    {
        var engine = Start(null, TestSchedules.Interval("poll", 10));
        foreach (var result in new[] { engine.Trigger("pol"), engine.Pause("pol"), engine.Resume("pol") })
        {
            Assert.False(result.Ok);
            Assert.Equal("no schedule is named \"pol\"; known: poll", result.Message);
        }
    }

    [Fact]
    public async Task Paused_schedule_does_not_fire_and_resumes_on_its_grid()
    {
        var engine = Start(null, TestSchedules.Interval("poll", 10), TestSchedules.Interval("other", 10));
        Assert.True(engine.Pause("poll").Ok);
        Assert.Null(StatusOf("poll").NextFire);
        await AdvanceAsync(TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => Port.Of("other").Count == 2, "other keeps firing");
        Assert.Empty(Port.Of("poll"));

        Assert.True(engine.Resume("poll").Ok);
        Assert.Equal(T0.AddSeconds(30), StatusOf("poll").NextFire);
        await AdvanceAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => Port.Of("poll").Count == 1, "poll fires after resume");
        Assert.Equal("2026-11-27T03:00:00Z", Port.Of("poll")[0].ScheduledFor);
    }

    [Fact]
    public void Resume_logs_the_next_fire_as_every_other_time_of_the_log_and_none_when_there_is_none()
    {
        var log = new RecordingLogger();
        var engine = StartWith(new EngineOptions { LoggerFactory = log },
            TestSchedules.Interval("fast", 2.25), TestSchedules.Interval("past", 10, trigger: new OneShotTrigger(T0.AddSeconds(-1))));
        Assert.True(engine.Pause("fast").Ok);
        Assert.True(engine.Pause("past").Ok);

        Assert.True(engine.Resume("fast").Ok);
        Assert.True(engine.Resume("past").Ok);
        var resumed = log.Lines.Where(l => l.Text.StartsWith("resumed ", StringComparison.Ordinal)).Select(l => l.Text);
        Assert.Equal(["resumed fast next=2026-11-27T02:59:32.250000Z", "resumed past next=none"], resumed);
        var fields = log.Fields.Where(f => f.EventId == 7).Select(f => f.Fields.Single(p => p.Key == "Next").Value);
        Assert.Equal(["2026-11-27T02:59:32.250000Z", "none"], fields);
    }

    [Fact]
    public async Task Reload_after_a_default_zone_change_keeps_the_interval_and_the_offset_instant_and_restarts_the_cron()
    {
        static SchedulerConfig Loaded(string zone) => ConfigLoader.LoadText($$$"""
            name: t
            time_zone: {{{zone}}}
            schedules:
              - {name: daily, interval_seconds: 10, task: {worker_type: w}}
              - {name: once, at: "2030-01-01T00:00:00Z", task: {worker_type: w}}
              - {name: nightly, cron: "0 3 * * *", task: {worker_type: w}}
            """, "t.yaml").Config!;
        var engine = StartWith(Loaded("UTC"), new EngineOptions());
        await AdvanceAsync(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => Port.Of("daily").Count == 1, "first fire");

        var summary = engine.Reload(Loaded("Europe/Paris"));
        Assert.Equal(["daily", "once"], summary.Unchanged);
        Assert.Equal(["nightly"], summary.Changed);
        Assert.Equal(1, StatusOf("daily").Fires);
        Assert.Equal(T0.AddSeconds(20), StatusOf("daily").NextFire);
    }

    [Fact]
    public async Task Reload_keeps_unchanged_schedules_slots_and_counters_and_applies_the_rest()
    {
        var keep = TestSchedules.Interval("keep", 10);
        var engine = Start(null, keep, TestSchedules.Interval("drop", 10), TestSchedules.Interval("change", 10));
        await AdvanceAsync(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => Port.Seen.Count == 3, "first round");

        var summary = engine.Reload(TestSchedules.Config(
            TestSchedules.Interval("keep", 10), TestSchedules.Interval("change", 4), TestSchedules.Interval("new", 4)));
        Assert.Equal(["new"], summary.Added);
        Assert.Equal(["drop"], summary.Removed);
        Assert.Equal(["change"], summary.Changed);
        Assert.Equal(["keep"], summary.Unchanged);
        Assert.Equal(1, StatusOf("keep").Fires);
        Assert.Equal(T0.AddSeconds(20), StatusOf("keep").NextFire);
        Assert.Equal(T0.AddSeconds(19), StatusOf("new").NextFire);

        await AdvanceAsync(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Of("keep").Count == 3, "keep stays on its grid");
        Assert.Equal(["2026-11-27T02:59:40Z", "2026-11-27T02:59:50Z", "2026-11-27T03:00:00Z"], Slots(Port.Of("keep")));
        Assert.Single(Port.Of("drop"));
        Assert.Equal(["2026-11-27T02:59:49Z", "2026-11-27T02:59:53Z", "2026-11-27T02:59:57Z"], Slots(Port.Of("new")));
    }

    [Fact]
    public async Task A_change_of_one_schedule_keeps_adds_restarts_and_removes_as_a_reload_would_leaving_the_others_alone()
    {
        var engine = Start(null, TestSchedules.Interval("keep", 10), TestSchedules.Interval("drop", 10), TestSchedules.Interval("change", 10));
        await AdvanceAsync(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5));
        await RecordingPort.Eventually(() => Port.Seen.Count == 3, "first round");

        var kept = engine.Change("keep", TestSchedules.Interval("keep", 10));
        var changed = engine.Change("change", TestSchedules.Interval("change", 4));
        var added = engine.Change("new", TestSchedules.Interval("new", 4));
        var removed = engine.Change("drop", null);

        Assert.Equal(("0 added, 0 removed, 0 changed, 3 unchanged", 0), (kept.ToString(), kept.Unchanged.Count));
        Assert.Equal(["change"], changed.Changed);
        Assert.Equal(["new"], added.Added);
        Assert.Equal("0 added, 1 removed, 0 changed, 3 unchanged", removed.ToString());
        Assert.Equal(["keep", "change", "new"], engine.Status().Schedules.Select(s => s.Name));
        Assert.Equal(["keep", "change", "new"], engine.Config.Schedules.Select(s => s.Name));
        Assert.Equal(1, StatusOf("keep").Fires);
        Assert.Equal(0, StatusOf("change").Fires);
        Assert.Equal(T0.AddSeconds(20), StatusOf("keep").NextFire);
        Assert.Equal(T0.AddSeconds(19), StatusOf("new").NextFire);

        await AdvanceAsync(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Of("keep").Count == 3, "keep stays on its grid");
        Assert.Equal(["2026-11-27T02:59:40Z", "2026-11-27T02:59:50Z", "2026-11-27T03:00:00Z"], Slots(Port.Of("keep")));
        Assert.Single(Port.Of("drop"));
        Assert.Equal(["2026-11-27T02:59:49Z", "2026-11-27T02:59:53Z", "2026-11-27T02:59:57Z"], Slots(Port.Of("new")));
        Assert.Equal(["2026-11-27T02:59:40Z", "2026-11-27T02:59:49Z", "2026-11-27T02:59:53Z", "2026-11-27T02:59:57Z"], Slots(Port.Of("change")));
    }

    [Theory]
    [InlineData("a change of that schedule alone")]
    [InlineData("a reload of the whole config")]
    public async Task A_paused_schedule_stays_paused_through_a_new_definition_until_resumed(string by)
    {
        var engine = Start(null, TestSchedules.Interval("held", 10), TestSchedules.Interval("other", 10));
        Assert.True(engine.Pause("held").Ok);
        if (by.StartsWith("a change", StringComparison.Ordinal))
        {
            engine.Change("held", TestSchedules.Interval("held", 4));
        }
        else
        {
            engine.Reload(TestSchedules.Config(TestSchedules.Interval("held", 4), TestSchedules.Interval("other", 10)));
        }
        Assert.True(StatusOf("held").Paused);
        Assert.Null(StatusOf("held").NextFire);

        await AdvanceAsync(TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Of("other").Count == 1, "the other schedule fires");
        Assert.Empty(Port.Of("held"));

        Assert.True(engine.Resume("held").Ok);
        await AdvanceAsync(TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Of("held").Count == 1, "the resumed schedule fires at its new cadence");
    }

    [Fact]
    public async Task The_last_stretch_before_a_slot_is_slept_by_the_precise_sleep_and_no_fire_is_early()
    {
        // The real clock: the precise sleep only matters there. It may return early (Thread.Sleep truncates here).
        var sleeps = new System.Collections.Concurrent.ConcurrentQueue<TimeSpan>();
        var port = new RecordingPort(TimeProvider.System);
        var engine = new SchedulerEngine(TestSchedules.Config(TestSchedules.Interval("fast", 0.05)), port, TimeProvider.System, new EngineOptions
        {
            PreciseWakeLead = TimeSpan.FromMilliseconds(20),
            PreciseSleep = d => { sleeps.Enqueue(d); Thread.Sleep(d); },
        });
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => engine.RunAsync(stop.Token));
        await RecordingPort.Eventually(() => port.Seen.Count >= 3, "three fires");
        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.NotEmpty(sleeps);
        Assert.All(sleeps, d => Assert.InRange(d, TimeSpan.FromTicks(1), TimeSpan.FromMilliseconds(20)));
        Assert.All(port.Seen, s => Assert.True(s.At >= DateTimeOffset.Parse(s.Message.ScheduledFor), $"fired at {s.At:O} for {s.Message.ScheduledFor}"));
    }

    // --- shutdown ---

    [Fact]
    public async Task Drain_reports_messages_abandoned_when_the_grace_period_runs_out()
    {
        var release = new TaskCompletionSource();
        Port.Gates["stuck"] = release.Task;
        var engine = Start(Registry("five", (_, _) => Maps(5)), TestSchedules.Interval("stuck", 1, expandFrom: "five"));
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => StatusOf("stuck").Running, "the fire is publishing");
        await Stop.CancelAsync();

        var drain = engine.DrainAsync(TimeSpan.FromSeconds(2)); // its grace timer exists once this returns
        Clock.Advance(TimeSpan.FromSeconds(3));
        var result = await drain.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0, result.Dispatched);
        Assert.Equal(5, result.Abandoned);
        Assert.Equal(1, result.FiresCut);
    }

    [Fact]
    public async Task Drain_cuts_a_fire_left_waiting_on_the_port_and_counts_its_message_abandoned()
    {
        Port.Gates["stuck"] = new TaskCompletionSource().Task; // never opens
        var engine = Start(null, TestSchedules.Interval("stuck", 1), TestSchedules.Interval("steady", 1));
        await AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        await RecordingPort.Eventually(() => Port.Blocked == 1 && Port.Of("steady").Count == 1, "one fire waits, one is sent");
        await Stop.CancelAsync();

        var drain = engine.DrainAsync(TimeSpan.FromSeconds(2));
        Clock.Advance(TimeSpan.FromSeconds(3));
        var result = await drain.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal((1L, 1L, 1), (result.Dispatched, result.Abandoned, result.FiresCut));
        await RecordingPort.Eventually(() => engine.FiresInFlight == 0, "the cut fire ends");
        Assert.False(StatusOf("stuck").Running);
    }

    [Fact]
    public async Task IdleEngine_stops_at_once_when_asked()
    {
        Start(null, TestSchedules.Cron("daily", "@daily"));
        await Settle();
        await Stop.CancelAsync();
        await Loop!.WaitAsync(TimeSpan.FromSeconds(2));
        Assert.True(Loop!.IsCompletedSuccessfully);
    }
}
