using Microsoft.Extensions.Logging;

namespace LoomSched.Daemon.Nats;

/// <summary>The publish refusals the NATS transport and the stream confirmer both say, in one wording.</summary>
internal static partial class PublishLog
{
    [LoggerMessage(EventId = 21, Level = LogLevel.Error,
        Message = "publish failed {Schedule} slot={Slot} subject={Subject}: {Reason}")]
    public static partial void LogPublishFailed(this ILogger log, string schedule, string slot, string subject, string reason);

    [LoggerMessage(EventId = 25, Level = LogLevel.Error,
        Message = "publish refused subject={Subject}: the server refused {Count} message(s) for this user's permissions (Permissions Violation for Publish), of {Schedules} slot={Slot}; counted in publish_errors")]
    public static partial void LogPublishDenied(this ILogger log, string subject, int count, string schedules, string slot);
}
