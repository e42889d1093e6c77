using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// Builds the Loom messages of one scheduler config: for each fire a <see cref="FireMessages"/>, which writes the
/// bodies (bare or in heddle's envelope, as the config's <c>wire</c> says) byte for byte as the source-generated
/// <see cref="LoomJsonContext"/> would. Pure: time comes from the given <see cref="TimeProvider"/>, ids are random
/// UUIDs. Safe to use from several fires at once.
/// </summary>
public sealed class MessageBuilder
{
    private readonly string _schedulerName;
    private readonly string _goalSubject;
    private readonly string _taskSubject;
    private readonly BodyWriterPool _writers;
    private readonly WireFrames _frames;

    /// <summary>Creates a builder for one scheduler config.</summary>
    public MessageBuilder(SchedulerConfig config, TimeProvider time)
    {
        _schedulerName = config.Name;
        _goalSubject = config.GoalSubject;
        _taskSubject = config.TaskSubject;
        string origin = "loomsched/" + config.Name;
        _writers = new BodyWriterPool(config.Wire, origin, time);
        _frames = new WireFrames(config.Wire, origin);
    }

    /// <summary>Builds one message.</summary>
    /// <param name="schedule">The schedule that fired.</param>
    /// <param name="slot">The slot it fired for (<c>scheduled_for</c>).</param>
    /// <param name="expansion">The expansion map merged over context/payload, or null.</param>
    /// <param name="index">The expansion index (0 without expansion), part of <c>Nats-Msg-Id</c>.</param>
    /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
    public DispatchMessage Build(
        ScheduleDefinition schedule, DateTimeOffset slot, IEnumerable<KeyValuePair<string, object?>>? expansion, int index) =>
        ForFire(schedule, slot).Build(expansion, index);

    /// <summary>The builder of one fire's messages, given all it needs: it never calls back here.</summary>
    /// <param name="schedule">The schedule that fired.</param>
    /// <param name="slot">The slot it fired for (<c>scheduled_for</c>).</param>
    public FireMessages ForFire(ScheduleDefinition schedule, DateTimeOffset slot) =>
        new(schedule, slot, schedule.Template is GoalTemplate ? _goalSubject : _taskSubject, _schedulerName, _writers, _frames);
}
