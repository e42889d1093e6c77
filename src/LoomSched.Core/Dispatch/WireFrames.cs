using System.Runtime.CompilerServices;
using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// The frames of one config's fan-outs, each made at its schedule's first fire and kept while the schedule lives. Only
/// fan-outs get one: a config of many plain schedules would keep as many frames, each tied to its schedule by a
/// handle that every collection goes through.
/// </summary>
internal sealed class WireFrames(WireFormat wire, string origin)
{
    private readonly ConditionalWeakTable<ScheduleDefinition, WireFrame> _frames = new();
    private readonly ConditionalWeakTable<ScheduleDefinition, WireFrame>.CreateValueCallback _make =
        schedule => WireFrame.Of(schedule.Template, schedule.ScheduledBy, wire, origin);

    /// <summary>The frame of <paramref name="schedule"/>'s messages.</summary>
    /// <exception cref="UnserializableValueException">A value of the config's map has no JSON form.</exception>
    public WireFrame Of(ScheduleDefinition schedule) => _frames.GetValue(schedule, _make);
}
