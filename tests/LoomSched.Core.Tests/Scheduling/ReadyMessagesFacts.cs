using LoomSched.Dispatch;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;

namespace LoomSched.Tests.Scheduling;

/// <summary>The one predicate of ready-made messages: does the message made before the slot still serve its fire?</summary>
public sealed class ReadyMessagesFacts
{
    private static readonly DateTimeOffset Slot = DateTimeOffset.Parse("2026-11-27T03:00:00Z");

    [Theory]
    // what changed since the message was made; milliseconds after the slot the fire is decided → still as planned
    [InlineData("nothing", 0, true)]
    [InlineData("nothing", 20, true)]
    [InlineData("nothing", 100, true)] // the edge of the tolerance
    [InlineData("nothing", 100.001, false)] // decided too late: its created_at would lie
    [InlineData("version", 0, false)] // a pause and resume, a new plan
    [InlineData("builder", 0, false)] // a reload
    [InlineData("slot", 0, false)] // made for another slot
    [InlineData("not inline", 0, false)] // a catch-up run, an expansion, a slot gate
    public void A_ready_message_serves_only_the_fire_it_was_made_for(string changed, double lateMs, bool serves)
    {
        var definition = TestSchedules.Interval("a", 1);
        var builder = new MessageBuilder(TestSchedules.Config(definition), TimeProvider.System);
        var state = new ScheduleState(definition, Slot.AddSeconds(-1)) { Version = 3 };
        var messages = builder.ForFire(definition, Slot);
        var ready = new ReadyMessage(
            changed == "version" ? 2 : 3, changed == "builder" ? new MessageBuilder(TestSchedules.Config(definition), TimeProvider.System) : builder,
            changed == "slot" ? Slot.AddSeconds(-1) : Slot, messages, messages.Message(messages.BuildBody(null, createdAt: Slot), 0));
        var fire = new Fire(state, definition, builder, Slot, manual: false, catchUp: null) { Inline = changed != "not inline" };

        Assert.Equal(serves, ReadyMessages.StillAsPlanned(ready, fire, Slot.AddTicks((long)(lateMs * TimeSpan.TicksPerMillisecond))));
    }
}
