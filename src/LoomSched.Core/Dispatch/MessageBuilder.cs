using System.Buffers;
using System.Text.Json;
using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// Builds the Loom message of one fire (or of one expansion map of it): the subject, the JSON body through
/// the source-generated <see cref="LoomJsonContext"/>, and the header values. Pure: time comes from the
/// given <see cref="TimeProvider"/>, ids from <see cref="Guid.NewGuid"/> (UUID v4).
/// </summary>
public sealed class MessageBuilder
{
    private readonly string _schedulerName;
    private readonly string _goalSubject;
    private readonly string _taskSubject;
    private readonly TimeProvider _time;

    /// <summary>Creates a builder for one scheduler config.</summary>
    public MessageBuilder(SchedulerConfig config, TimeProvider time)
    {
        _schedulerName = config.Name;
        _goalSubject = config.GoalSubject;
        _taskSubject = config.TaskSubject;
        _time = time;
    }

    /// <summary>Builds one message.</summary>
    /// <param name="schedule">The schedule that fired.</param>
    /// <param name="slot">The slot it fired for (<c>scheduled_for</c>).</param>
    /// <param name="expansion">The expansion map merged over context/payload, or null.</param>
    /// <param name="index">The expansion index (0 without expansion), part of <c>Nats-Msg-Id</c>.</param>
    /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
    public DispatchMessage Build(
        ScheduleDefinition schedule, DateTimeOffset slot, IEnumerable<KeyValuePair<string, object?>>? expansion, int index)
    {
        string slotText = LoomTime.Format(slot);
        string createdAt = LoomTime.Format(_time.GetUtcNow());
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = false }))
        {
            string subject;
            if (schedule.DispatchType == DispatchType.Goal)
            {
                var goal = schedule.Goal ?? throw new InvalidOperationException($"schedule {schedule.Name} has no goal");
                JsonSerializer.Serialize(writer, new OrchestratorGoal
                {
                    GoalId = Guid.NewGuid().ToString("D"),
                    Instruction = goal.Instruction,
                    Context = new MergedMap(goal.Context, expansion),
                    Priority = WireNames.Of(goal.Priority),
                    CreatedAt = createdAt,
                }, LoomJsonContext.Default.OrchestratorGoal);
                subject = _goalSubject;
            }
            else
            {
                var task = schedule.Task ?? throw new InvalidOperationException($"schedule {schedule.Name} has no task");
                JsonSerializer.Serialize(writer, new TaskMessage
                {
                    TaskId = Guid.NewGuid().ToString("D"),
                    WorkerType = task.WorkerType,
                    Payload = new MergedMap(task.Payload, expansion),
                    ModelTier = WireNames.Of(task.ModelTier),
                    Priority = WireNames.Of(task.Priority),
                    CreatedAt = createdAt,
                    Metadata = new TaskMetadata { ScheduledBy = schedule.Name, ScheduledFor = slotText },
                }, LoomJsonContext.Default.TaskMessage);
                subject = _taskSubject;
            }
            writer.Flush();
            return new DispatchMessage(
                subject, buffer.WrittenMemory, schedule.Name, slotText,
                $"{_schedulerName}/{schedule.Name}/{slotText}/{index}");
        }
    }
}
