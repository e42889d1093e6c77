namespace LoomSched.Dispatch;

/// <summary>One message ready to publish: subject, JSON body, and what the NATS headers carry.</summary>
/// <param name="Subject">e.g. <c>loom.goals.incoming</c>.</param>
/// <param name="Body">UTF-8 JSON of the OrchestratorGoal or TaskMessage.</param>
/// <param name="ScheduleName">Header <c>Loom-Schedule</c>.</param>
/// <param name="ScheduledFor">Header <c>Loom-Scheduled-For</c> (the slot, ISO).</param>
/// <param name="MessageId">Header <c>Nats-Msg-Id</c>: <c>{scheduler}/{schedule}/{slot ISO}/{expansion index}</c>.</param>
public sealed record DispatchMessage(
    string Subject, ReadOnlyMemory<byte> Body, string ScheduleName, string ScheduledFor, string MessageId);

/// <summary>The core's output port: where built messages go. The daemon's adapter publishes on NATS.</summary>
public interface IDispatchPort
{
    /// <summary>Publishes (or buffers) one message. Throws when the message cannot be accepted.</summary>
    ValueTask PublishAsync(DispatchMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Completes when every message accepted so far is confirmed delivered (or refused for good). A port that
    /// confirms nothing completes at once.
    /// </summary>
    ValueTask WhenSentAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
