using System.Text.Json;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;

namespace LoomSched.Tests.Scheduling;

/// <summary>The expansion runner alone: a schedule's maps in, a fire's bodies (or the reason it is refused) out.</summary>
public sealed class ExpansionRunnerFacts
{
    private static readonly DateTimeOffset Slot = DateTimeOffset.Parse("2026-11-27T03:00:00Z");

    private static async Task<CollectedBodies> BodiesAsync(ScheduleDefinition definition, ExpansionInvoker? invoker = null)
    {
        var registry = new ExpansionRegistry();
        if (invoker is not null)
        {
            registry.Add("fn", invoker, "Tests.fn");
        }
        var runner = new ExpansionRunner(new EngineOptions { Registry = registry }, TimeProvider.System);
        var messages = new MessageBuilder(TestSchedules.Config(definition), TimeProvider.System).ForFire(definition, Slot);
        return await runner.BodiesAsync(definition, messages, Slot, CancellationToken.None);
    }

    private static ExpansionInvoker Returns(params IEnumerable<KeyValuePair<string, object?>>?[] maps) =>
        (_, _) => ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(maps!);

    private static async Task<string> RefusalAsync(ScheduleDefinition definition, ExpansionInvoker? invoker) =>
        (await Assert.ThrowsAsync<FireFailedException>(() => BodiesAsync(definition, invoker))).Message;

    [Fact]
    public async Task A_schedule_without_an_expansion_has_one_body_of_its_own_payload()
    {
        using var bodies = await BodiesAsync(TestSchedules.Interval("plain", 1));
        var body = JsonDocument.Parse(Assert.Single(bodies)).RootElement;
        Assert.Equal("system_status", body.GetProperty("payload").GetProperty("check").GetString());
    }

    [Fact]
    public async Task Each_map_becomes_one_body_in_order_merged_into_the_payload()
    {
        using var bodies = await BodiesAsync(TestSchedules.Interval("fan", 1, expandFrom: "fn"),
            Returns(TestSchedules.Map(("n", 1L)), TestSchedules.Map(("n", 2L)), TestSchedules.Map(("n", 3L))));
        await bodies.WhenBuiltAsync(bodies.Count);
        Assert.Equal([1, 2, 3], bodies.Select(b => JsonDocument.Parse(b).RootElement.GetProperty("payload").GetProperty("n").GetInt32()));
    }

    [Fact]
    public async Task An_unregistered_function_refuses_the_fire_by_its_name()
    {
        Assert.Equal("expansion function \"fn\" is not registered",
            await RefusalAsync(TestSchedules.Interval("fan", 1, expandFrom: "fn"), invoker: null));
    }

    [Fact]
    public async Task More_maps_than_max_expansion_refuse_the_whole_fire()
    {
        Assert.Equal("expansion \"fn\" returned more than 2 maps (max_expansion); nothing was sent",
            await RefusalAsync(TestSchedules.Interval("fan", 1, expandFrom: "fn", maxExpansion: 2),
                Returns(TestSchedules.Map(("n", 1L)), TestSchedules.Map(("n", 2L)), TestSchedules.Map(("n", 3L)))));
    }

    [Fact]
    public async Task A_null_map_refuses_the_fire_and_names_its_index()
    {
        Assert.Equal("expansion \"fn\" returned a null map at index 1; nothing was sent",
            await RefusalAsync(TestSchedules.Interval("fan", 1, expandFrom: "fn"), Returns(TestSchedules.Map(("n", 1L)), null)));
    }

    [Fact]
    public async Task A_null_result_refuses_the_fire()
    {
        Assert.Equal("expansion \"fn\" returned null instead of a list of maps",
            await RefusalAsync(TestSchedules.Interval("fan", 1, expandFrom: "fn"),
                (_, _) => ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(null)));
    }

    [Theory]
    [InlineData("fn: the feed is empty", "expansion \"fn\" failed: the feed is empty")]
    [InlineData("the feed is empty", "expansion \"fn\" failed: the feed is empty")]
    public async Task An_ExpansionException_is_shown_in_its_own_words_without_the_function_name_twice(string thrown, string reason)
    {
        Assert.Equal(reason, await RefusalAsync(TestSchedules.Interval("fan", 1, expandFrom: "fn"), (_, _) => throw new ExpansionException(thrown)));
    }

    [Fact]
    public async Task Any_other_exception_is_shown_with_its_type()
    {
        Assert.Equal("expansion \"fn\" threw InvalidOperationException: boom",
            await RefusalAsync(TestSchedules.Interval("fan", 1, expandFrom: "fn"), (_, _) => throw new InvalidOperationException("boom")));
    }
}
