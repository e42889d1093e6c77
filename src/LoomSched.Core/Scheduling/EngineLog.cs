using System.Globalization;
using Microsoft.Extensions.Logging;

namespace LoomSched.Scheduling;

/// <summary>The engine's log lines (category "loomsched"), one method each, shared by the engine's parts.</summary>
internal sealed partial class EngineLog(ILogger log)
{
    private static readonly EventId FiredEvent = new(1, nameof(LogFired));

    private readonly ILogger _log = log;

    /// <summary>Whether "fired" lines are written at all (deferring them is then worth it).</summary>
    public bool WritesFiredLines => _log.IsEnabled(LogLevel.Information);

    /// <summary>
    /// "fired {Schedule} slot={Slot} messages={Messages} late_ms={LatenessMs:0.###} took_ms={DurationMs:0.###}", with
    /// the same values as a [LoggerMessage] would hand a logger, but its text made without a composite format and
    /// its numbers without boxing: a thousand fires in the same second write a thousand of these lines.
    /// </summary>
    public void LogFired(in FiredLine line)
    {
        if (_log.IsEnabled(LogLevel.Information))
        {
            _log.Log(LogLevel.Information, FiredEvent, new FiredLineState(line), null, static (state, _) => state.ToString());
        }
    }

    /// <summary>The state of a "fired" line: its named values (as the JSON log writes them) and its message.</summary>
    private readonly struct FiredLineState(FiredLine line) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private const string Template =
            "fired {Schedule} slot={Slot} messages={Messages} late_ms={LatenessMs:0.###} took_ms={DurationMs:0.###}";

        public int Count => 6;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("Schedule", line.Schedule),
            1 => new("Slot", line.Slot),
            2 => new("Messages", line.Messages),
            3 => new("LatenessMs", line.LatenessMs),
            4 => new("DurationMs", line.DurationMs),
            5 => new("{OriginalFormat}", Template),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (int i = 0; i < Count; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, stackalloc char[256],
            $"fired {line.Schedule} slot={line.Slot} messages={line.Messages} late_ms={Milliseconds(line.LatenessMs)} took_ms={Milliseconds(line.DurationMs)}");

        /// <summary>As <c>0.###</c> would spell it: rounded to three decimals, the shortest digits (no custom format).</summary>
        private static double Milliseconds(double value) => Math.Round(value, 3) + 0.0; // + 0.0: never "-0"
    }

    [LoggerMessage(EventId = 2, Level = LogLevel.Error,
        Message = "fire failed {Schedule} slot={Slot} sent={Sent}: {Reason}")]
    public partial void LogFireFailed(string schedule, string slot, int sent, string reason, Exception? fault);

    [LoggerMessage(EventId = 13, Level = LogLevel.Error,
        Message = "schedule {Schedule} faulted: {Kind}: {Reason}; its next slot is planned again at {Retry}")]
    public partial void LogScheduleFault(string schedule, string kind, string reason, string retry, Exception fault);

    [LoggerMessage(EventId = 14, Level = LogLevel.Error,
        Message = "the timer loop faulted: {Kind}: {Reason}; it goes on in a second")]
    public partial void LogLoopFault(string kind, string reason, Exception fault);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning,
        Message = "skipped {Schedule} slot={Slot}: its previous fire is still running")]
    public partial void LogSkippedOverlap(string schedule, string slot);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning,
        Message = "skipped {Schedule} slot={Slot}: its previous fire still waits for the slot state (catch_up: skip)")]
    public partial void LogSkippedWhileClaiming(string schedule, string slot);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning,
        Message = "stall: {Schedule} fired once for {Missed} further missed slot(s); next={Next}")]
    public partial void LogStall(string schedule, long missed, string next);

    // The parameter types of LogStall: the same generated shape (each new one costs the binary a few kilobytes).
    [LoggerMessage(EventId = 12, Level = LogLevel.Warning,
        Message = "clock set back: the system clock went back {Back}; {Count} schedule(s) planned again from {Now}")]
    public partial void LogClockSetBack(string back, long count, string now);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning,
        Message = "abandoned {Schedule} slot={Slot} sent={Sent} abandoned={Abandoned}: shutdown grace ran out")]
    public partial void LogAbandoned(string schedule, string slot, int sent, int abandoned);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "paused {Schedule}")]
    public partial void LogPaused(string schedule);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "resumed {Schedule} next={Next}")]
    public partial void LogResumed(string schedule, string next);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "reloaded: {Summary}")]
    public partial void LogReloaded(string summary);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information,
        Message = "catch-up {Schedule}: {Missed} missed slot(s) from {First} to {Last}; catch_up {Policy} fires {Fired}, {PassedOver} counted missed")]
    public partial void LogCatchUp(string schedule, long missed, string first, string last, string policy, string fired, long passedOver);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information,
        Message = "catch-up {Schedule}: sends {Slot} again, which its previous owner claimed and did not mark done")]
    public partial void LogResent(string schedule, string slot);

    [LoggerMessage(EventId = 16, Level = LogLevel.Information,
        Message = "catch-up {Schedule}: fires its one-shot {Slot}, whose instant came while no owner ran")]
    public partial void LogOneShotLate(string schedule, string slot);
}
