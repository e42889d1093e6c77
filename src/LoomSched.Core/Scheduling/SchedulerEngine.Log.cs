using Microsoft.Extensions.Logging;

namespace LoomSched.Scheduling;

public sealed partial class SchedulerEngine
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "fired {Schedule} slot={Slot} messages={Messages} late_ms={LatenessMs:0.###} took_ms={DurationMs:0.###}")]
    private partial void LogFired(string schedule, string slot, int messages, double latenessMs, double durationMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error,
        Message = "fire failed {Schedule} slot={Slot} sent={Sent}: {Reason}")]
    private partial void LogFireFailed(string schedule, string slot, int sent, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning,
        Message = "skipped {Schedule} slot={Slot}: its previous fire is still running")]
    private partial void LogSkippedOverlap(string schedule, string slot);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning,
        Message = "stall: {Schedule} fired once for {Missed} further missed slot(s); next={Next}")]
    private partial void LogStall(string schedule, long missed, string next);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning,
        Message = "abandoned {Schedule} slot={Slot} sent={Sent} abandoned={Abandoned}: shutdown grace ran out")]
    private partial void LogAbandoned(string schedule, string slot, int sent, int abandoned);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "paused {Schedule}")]
    private partial void LogPaused(string schedule);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "resumed {Schedule} next={Next}")]
    private partial void LogResumed(string schedule, DateTimeOffset? next);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "reloaded: {Summary}")]
    private partial void LogReloaded(string summary);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information,
        Message = "catch-up {Schedule}: {Count} missed slot(s) from {First} to {Last}")]
    private partial void LogCatchUp(string schedule, int count, string first, string last);
}
