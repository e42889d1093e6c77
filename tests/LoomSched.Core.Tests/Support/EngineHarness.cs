using LoomSched.Config;
using LoomSched.Expansion;
using LoomSched.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Support;

/// <summary>
/// An engine on a fake clock with a recording port, for the engine's fact classes. Fires run on the thread pool,
/// so assertions on what they published wait (in real time) for them; the fake clock moves only when a test
/// moves it, and only once the loop and the fires have caught up with it.
/// </summary>
public abstract class EngineHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    protected EngineHarness(DateTimeOffset start)
    {
        Clock = new FakeTimeProvider(start);
        Time = new SteppableClock(Clock);
        Port = new RecordingPort(Clock);
    }

    protected FakeTimeProvider Clock { get; }

    /// <summary>The engine's clock: <see cref="Clock"/>, whose wall time a test may set back.</summary>
    protected SteppableClock Time { get; }
    internal RecordingPort Port { get; }
    protected SchedulerEngine? Engine { get; private set; }
    protected Task? Loop => _loop;
    protected CancellationTokenSource Stop => _stop;

    /// <summary>Fires that a test keeps stuck on purpose (outside the port's gates).</summary>
    protected int StuckOnPurpose { get; set; }

    protected SchedulerEngine StartWith(EngineOptions options, params ScheduleDefinition[] schedules) =>
        StartWith(TestSchedules.Config(schedules), options);

    protected SchedulerEngine StartWith(SchedulerConfig config, EngineOptions options)
    {
        Engine = new SchedulerEngine(config, Port, Time, options);
        _loop = Task.Run(() => Engine.RunAsync(_stop.Token));
        return Engine;
    }

    protected SchedulerEngine Start(IExpansionRegistry? registry, params ScheduleDefinition[] schedules) =>
        StartWith(new EngineOptions { Registry = registry ?? ExpansionRegistry.Empty }, schedules);

    /// <summary>Moves the fake clock in steps, letting the loop catch up after each one.</summary>
    protected async Task AdvanceAsync(TimeSpan total, TimeSpan step)
    {
        for (var moved = TimeSpan.Zero; moved < total; moved += step)
        {
            await Settle();
            Clock.Advance(step);
        }
        await Settle();
    }

    /// <summary>
    /// Waits until the loop has handled everything due and sleeps again, and every fire has ended (but those a
    /// test holds at a gate or keeps stuck), before the clock moves on.
    /// </summary>
    protected Task Settle() => RecordingPort.Eventually(
        () => Engine is null
            || (Engine.SleepingUntilTicks > Time.GetUtcNow().UtcTicks && Engine.FiresInFlight <= Port.Blocked + StuckOnPurpose),
        "the loop and the fires to catch up with the clock");

    protected ScheduleStatus StatusOf(string name) => Engine!.Status().Schedules.Single(s => s.Name == name);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        GC.SuppressFinalize(this);
    }
}
