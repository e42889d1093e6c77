using System.Globalization;
using LoomSched.Dispatch;

namespace LoomSched.Scheduling;

/// <summary>
/// The timer loop. Sleeps until the earliest slot in the queue or until a command wakes it (it never polls); at a
/// slot it decides the due fires (<see cref="ScheduleTable.DecideDue"/>), hands their ready-made messages to the port
/// (<see cref="ReadyMessages"/>), plans the next slots (<see cref="ScheduleTable.PlanAfterDue"/>), then launches the
/// fires (<see cref="FireRunner"/>). Its fields are the loop's alone; others only <see cref="Wake"/> it.
/// </summary>
internal sealed class TimerLoop
{
    /// <summary>
    /// The longest the loop sleeps at once: a timer takes at most about 49.7 days, and a slot months away is reached
    /// by sleeping again, each wake re-reading the clock.
    /// </summary>
    internal static readonly TimeSpan MaxSleep = TimeSpan.FromHours(1);

    /// <summary>A pass decides at most this many fires (but at a hand-over), so the first of many due at once starts soon.</summary>
    private const int FiresPerPass = 64;

    /// <summary>How long the loop waits after a fault of its own before it goes on, so that a fault cannot spin.</summary>
    private static readonly TimeSpan LoopFaultPause = TimeSpan.FromSeconds(1);

    private readonly ScheduleTable _table;
    private readonly FireRunner _runner;
    private readonly FiredLines _lines;
    private readonly TimeProvider _time;
    private readonly EngineOptions _options;
    private readonly EngineLog _log;
    private readonly ReadyMessages _ready;
    private readonly ClockWatch _clock;
    private readonly List<Fire> _due = []; // fires decided under the lock, launched after it
    private readonly List<DueSlot> _decided = []; // slots decided under the lock, planned before it is released
    private TaskCompletionSource _wake = NewSignal(); // replaced under the lock, so that no command's wake is lost
    private long _sleepingUntilTicks;
    private long _sleeps;
    private long _lastBeat;
    private long _lastRan; // when the loop last woke or went to sleep (a timestamp of _time); 0 before its first pass
    private long _dueBy; // when it plans to run again (a timestamp); long.MaxValue while it waits for a command alone

    public TimerLoop(ScheduleTable table, FireRunner runner, FiredLines lines, IDispatchPort port, TimeProvider time, EngineOptions options, EngineLog log)
    {
        _table = table;
        _runner = runner;
        _lines = lines;
        _time = time;
        _options = options;
        _log = log;
        _ready = new ReadyMessages(table, port, time, options);
        _clock = new ClockWatch(time);
    }

    /// <summary>
    /// When the loop last went to sleep, the instant it sleeps until (UTC ticks; 0 while it works). Lets tests on a
    /// fake clock know the loop has caught up before they move the clock again.
    /// </summary>
    public long SleepingUntilTicks => Volatile.Read(ref _sleepingUntilTicks);

    /// <summary>How many times the loop has gone to sleep: tests on a fake clock wait for it after waking the loop.</summary>
    public long Sleeps => Volatile.Read(ref _sleeps);

    /// <summary>Where the loop stands against its own plan (for a liveness probe, which need not wake it).</summary>
    public LoopProgress Progress()
    {
        long ran = Volatile.Read(ref _lastRan);
        long due = Volatile.Read(ref _dueBy);
        if (ran == 0)
        {
            return default;
        }
        long now = _time.GetTimestamp();
        return new LoopProgress(_time.GetElapsedTime(ran, now), due == long.MaxValue ? null : _time.GetElapsedTime(due, now));
    }

    /// <summary>Whether the loop wakes for its heartbeat (see <see cref="EngineOptions.HeartbeatWakes"/>).</summary>
    private bool WakesForHeartbeat => _options.Heartbeat is not null && _options.HeartbeatWakes;

    /// <summary>The longest the loop may sleep: an hour, or half the heartbeat's period when it wakes for it.</summary>
    private TimeSpan LongestSleep => WakesForHeartbeat ? TimeSpan.FromTicks(Math.Min(MaxSleep.Ticks, _options.HeartbeatPeriod.Ticks / 2)) : MaxSleep;

    /// <summary>Wakes the loop to look at the table again (a command moved a slot); call under the lock.</summary>
    public void Wake() => _wake.TrySetResult();

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Task wake;
            lock (_table.Gate)
            {
                if (_wake.Task.IsCompleted)
                {
                    _wake = NewSignal();
                }
                wake = _wake.Task;
            }
            DateTimeOffset? until;
            Ran(TimeSpan.Zero);
            try
            {
                until = Pass();
            }
            catch (Exception ex)
            {
                // A fault of the loop's own (one schedule's stays that schedule's) must not stop every schedule.
                until = _time.GetUtcNow() + LoopFaultPause;
                AbandonDecided();
                _log.LogLoopFault(ex.GetType().Name, ex.Message, ex);
            }
            Beat();
            await SleepAsync(until, wake, stoppingToken).ConfigureAwait(false);
            Volatile.Write(ref _sleepingUntilTicks, 0);
        }
        _lines.Flush();
    }

    /// <summary>One pass: decides what is due, hands over, does the bookkeeping, launches; returns when to wake.</summary>
    private DateTimeOffset? Pass()
    {
        DateTimeOffset? until;
        DateTimeOffset now;
        lock (_table.Gate)
        {
            now = _time.GetUtcNow();
            if (_clock.SetBack(now) is { } back)
            {
                long planned = _table.PlanAgainFrom(now);
                _log.LogClockSetBack(back.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s", planned, LoomTime.Format(now));
            }
            // At a slot with ready messages every due fire is decided, so that all of them go to the port at once;
            // otherwise a bounded number, and the loop comes straight back for the rest (commands get the lock between).
            bool handOver = _ready.DueAt(now);
            _table.DecideDue(now, _due, _decided, handOver ? int.MaxValue : FiresPerPass);
            try
            {
                if (handOver)
                {
                    _ready.HandOver(_due, now);
                }
            }
            finally
            {
                _table.PlanAfterDue(_decided, now);
            }
            until = _table.Queue.Earliest;
        }
        LaunchBatch();
        if (until is not { } more || more > now || _lines.Count >= FiredLines.MaxDeferred)
        {
            // Nothing more due at once: the instant's fires are all launched, its lines may be written.
            _lines.Flush();
        }
        if (until is { } coming)
        {
            _ready.MakeIfNear(coming, now);
        }
        return until;
    }

    /// <summary>Launches the pass's fires; the "fired" lines of those that run on this thread wait (<see cref="FiredLines"/>).</summary>
    private void LaunchBatch()
    {
        if (_due.Count == 0)
        {
            return;
        }
        _lines.BeginBatch();
        try
        {
            _runner.Launch(_due);
        }
        finally
        {
            _lines.EndBatch();
        }
    }

    /// <summary>After a fault of the loop: fires it decided and did not launch are not running (their next slots stand).</summary>
    private void AbandonDecided()
    {
        lock (_table.Gate)
        {
            foreach (var fire in _due)
            {
                fire.State.Running = false;
            }
            _due.Clear();
        }
    }

    /// <summary>Calls the heartbeat when half its period has passed since the last (the loop wakes at least that often).</summary>
    private void Beat()
    {
        if (_options.Heartbeat is not { } heartbeat || (_lastBeat != 0 && _time.GetElapsedTime(_lastBeat) < _options.HeartbeatPeriod / 2))
        {
            return;
        }
        _lastBeat = _time.GetTimestamp();
        heartbeat();
    }

    private async Task SleepAsync(DateTimeOffset? until, Task wake, CancellationToken stoppingToken)
    {
        if (until is null)
        {
            Asleep(DateTimeOffset.MaxValue.UtcTicks, WakesForHeartbeat ? LongestSleep : null);
            try
            {
                // Nothing to wait for but a command (and the heartbeat, if the loop wakes for it).
                await (WakesForHeartbeat ? wake.WaitAsync(LongestSleep, _time, stoppingToken) : wake.WaitAsync(stoppingToken)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
            {
            }
            return;
        }
        var delay = until.Value - _time.GetUtcNow();
        if (delay <= TimeSpan.Zero)
        {
            return;
        }
        var lead = _options.PreciseWakeLead;
        if (lead > TimeSpan.Zero && delay <= lead)
        {
            // The last stretch: a sleep of this thread beats the coarse timer queue. Thread.Sleep truncates to whole
            // milliseconds, and Sleep(0) is a bare yield the loop would spin on: round up (at most 1 ms late).
            Asleep(until.Value.UtcTicks, delay);
            if (_options.PreciseSleep is { } sleep)
            {
                sleep(delay);
            }
            else
            {
                Thread.Sleep((int)Math.Ceiling(delay.TotalMilliseconds));
            }
            return;
        }
        // A slot whose messages are not ready yet wakes the loop ReadyMessages.Lead before it (to make them), then at
        // the precise lead.
        delay -= _ready.WakeEarlyFor(until.Value) && delay > ReadyMessages.Lead ? ReadyMessages.Lead : lead;
        // Timers count whole milliseconds: round up, so the loop never wakes a fraction early and spins.
        delay = TimeSpan.FromMilliseconds(Math.Ceiling(delay.TotalMilliseconds));
        if (delay > LongestSleep)
        {
            delay = LongestSleep;
        }
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var timer = Task.Delay(delay, _time, cancel.Token);
        Asleep(until.Value.UtcTicks, delay);
        await Task.WhenAny(timer, wake).ConfigureAwait(false);
        await cancel.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The loop goes to sleep until <paramref name="untilTicks"/> (UTC ticks): what tests on a fake clock wait for.
    /// It plans to wake within <paramref name="wakeWithin"/> (null: only a command wakes it).
    /// </summary>
    private void Asleep(long untilTicks, TimeSpan? wakeWithin)
    {
        Ran(wakeWithin);
        Volatile.Write(ref _sleepingUntilTicks, untilTicks);
        Interlocked.Increment(ref _sleeps);
    }

    /// <summary>Marks progress: the loop plans to run again within <paramref name="within"/> (at once, in a pass).</summary>
    private void Ran(TimeSpan? within)
    {
        long now = _time.GetTimestamp();
        Volatile.Write(ref _dueBy, within is { } w ? now + (long)(w.TotalSeconds * _time.TimestampFrequency) : long.MaxValue);
        Volatile.Write(ref _lastRan, now);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
