using LoomSched.Expansion;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;

namespace LoomSched.Tests.Scheduling;

/// <summary>The timer loop against its own plan, read without waking it: what <c>/healthz</c> judges liveness by.</summary>
public sealed class LoopProgressFacts() : EngineHarness(T0)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-27T03:00:00Z");

    [Fact]
    public async Task An_idle_loop_reads_as_ahead_of_its_plan_without_being_woken()
    {
        var engine = Start(null, TestSchedules.Cron("yearly", "0 0 1 1 *"));
        await Settle();
        long sleeps = engine.Sleeps;

        Clock.Advance(TimeSpan.FromMinutes(59));
        var progress = engine.LoopProgress();

        Assert.Equal(sleeps, engine.Sleeps);
        Assert.Equal(TimeSpan.FromMinutes(59), progress.SinceRan);
        Assert.Equal(TimeSpan.FromMinutes(-1), progress.Overdue); // it sleeps an hour at most
    }

    [Fact]
    public async Task A_loop_stuck_in_a_pass_reads_as_late_by_the_time_the_pass_has_taken()
    {
        bool stick = false;
        using var stuck = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var engine = StartWith(new EngineOptions
        {
            Registry = ExpansionRegistry.Empty,
            HeartbeatPeriod = TimeSpan.FromSeconds(10),
            Heartbeat = () =>
            {
                if (Volatile.Read(ref stick))
                {
                    stuck.Set();
                    release.Wait();
                }
            },
        }, TestSchedules.Cron("yearly", "0 0 1 1 *"));
        await Settle();
        Assert.True(engine.LoopProgress().Overdue < TimeSpan.Zero);

        Volatile.Write(ref stick, true);
        try
        {
            // The heartbeat's wake (half its period), which sticks in the heartbeat. The loop arms that wait a moment
            // after it reads as asleep: if it armed it late, the clock moves on a second at a time until the wake.
            Clock.Advance(TimeSpan.FromSeconds(5));
            for (int step = 0; step < 10 && !stuck.Wait(TimeSpan.FromSeconds(2)); step++)
            {
                Clock.Advance(TimeSpan.FromSeconds(1));
            }
            Assert.True(stuck.IsSet, "the loop did not wake for its heartbeat");
            Clock.Advance(TimeSpan.FromSeconds(20));

            Assert.Equal(new LoopProgress(TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(20)), engine.LoopProgress());
        }
        finally
        {
            // Never leave the loop stuck: a failed assertion must not hang the engine's disposal.
            Volatile.Write(ref stick, false);
            release.Set();
        }
        await Settle();
        Assert.True(engine.LoopProgress().Overdue < TimeSpan.Zero);
    }

    [Fact]
    public async Task A_heartbeat_that_does_not_wake_the_loop_comes_only_with_its_passes()
    {
        int beats = 0;
        var engine = StartWith(new EngineOptions
        {
            Registry = ExpansionRegistry.Empty,
            HeartbeatPeriod = TimeSpan.FromSeconds(5),
            HeartbeatWakes = false,
            Heartbeat = () => Interlocked.Increment(ref beats),
        }, TestSchedules.Interval("hourly", 3600));
        await Settle();
        // The loop arms its timer a moment after it reads as asleep: the clock jumps only once it has.
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        int first = Volatile.Read(ref beats);
        long sleeps = engine.Sleeps;

        // Idle for most of an hour: no wake for the heartbeat, so no beat.
        Clock.Advance(TimeSpan.FromMinutes(59));
        await Settle();
        Assert.Equal(sleeps, engine.Sleeps);
        Assert.Equal(first, Volatile.Read(ref beats));

        // The slot's pass beats once.
        Clock.Advance(TimeSpan.FromMinutes(1));
        await RecordingPort.Eventually(() => Port.Of("hourly").Count == 1, "the hourly schedule fires");
        await RecordingPort.Eventually(() => Volatile.Read(ref beats) == first + 1, "the pass beats");
    }

    [Fact]
    public void A_loop_that_has_not_run_has_no_progress() =>
        Assert.Equal(default, new SchedulerEngine(TestSchedules.Config(TestSchedules.Cron("yearly", "0 0 1 1 *")), Port, Time).LoopProgress());
}
