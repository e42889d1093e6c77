using System.Text;
using System.Text.Json;
using LoomSched.Dispatch;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Dispatch;

/// <summary>
/// The bodies of a big fan-out, built on helper tasks beside the thread that reads the maps: in expansion order, each
/// with its own map as it was when the function handed it over, whoever built it.
/// </summary>
public sealed class FireBodyCollectorFacts
{
    private const int Maps = 5 * FireBodyCollector.ChunkSize + 17;
    private static readonly DateTimeOffset Slot = DateTimeOffset.Parse("2026-11-27T03:00:00Z");

    private static FireMessages Fire()
    {
        var schedule = TestSchedules.Interval("poll", 30, expandFrom: "range");
        var clock = new FakeTimeProvider(Slot.AddMilliseconds(3));
        return new MessageBuilder(TestSchedules.Config(schedule), clock).ForFire(schedule, Slot);
    }

    private static async Task<List<JsonElement>> PayloadsAsync(IEnumerable<IEnumerable<KeyValuePair<string, object?>>> maps, int helpers)
    {
        using var collector = new FireBodyCollector(Fire(), helpers);
        foreach (var map in maps)
        {
            collector.Add(map);
        }
        var bodies = await collector.FinishAsync();
        Assert.Equal(collector.Count, bodies.Count);
        return [.. bodies.Select(b => JsonDocument.Parse(b).RootElement.GetProperty("payload").Clone())];
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public async Task A_big_fire_has_each_map_in_expansion_order_however_many_helpers_build_it(int helpers)
    {
        var maps = Enumerable.Range(0, Maps).Select(i => new KeyValuePair<string, object?>[] { new("i", i), new("name", $"n{i}") });

        var payloads = await PayloadsAsync(maps, helpers);

        Assert.Equal(Maps, payloads.Count);
        for (int i = 0; i < Maps; i++)
        {
            Assert.Equal($$"""{"check":"system_status","i":{{i}},"name":"n{{i}}"}""", payloads[i].GetRawText());
        }
    }

    [Fact]
    public async Task Every_message_of_a_fire_built_by_helpers_has_an_id_of_its_own()
    {
        using var collector = new FireBodyCollector(Fire(), helpers: 3);
        for (int i = 0; i < Maps; i++)
        {
            collector.Add([new("i", i)]);
        }
        var bodies = await collector.FinishAsync();

        var ids = bodies.Select(b => JsonDocument.Parse(b).RootElement.GetProperty("task_id").GetString()).ToList();
        Assert.Equal(Maps, ids.Distinct().Count());
    }

    [Fact]
    public async Task A_map_array_the_function_refills_between_maps_keeps_the_values_it_had_when_handed_over()
    {
        static IEnumerable<IEnumerable<KeyValuePair<string, object?>>> Reused()
        {
            var map = new KeyValuePair<string, object?>[1];
            for (int i = 0; i < Maps; i++)
            {
                map[0] = new("i", i);
                yield return map;
            }
        }

        var payloads = await PayloadsAsync(Reused(), helpers: 2);

        Assert.Equal(Enumerable.Range(0, Maps), payloads.Select(p => p.GetProperty("i").GetInt32()));
    }

    [Fact]
    public async Task A_list_the_function_refills_between_maps_is_written_as_it_was_when_its_map_was_handed_over()
    {
        static IEnumerable<IEnumerable<KeyValuePair<string, object?>>> SharedList()
        {
            var list = new List<object?>();
            for (int i = 0; i < Maps; i++)
            {
                list.Clear();
                list.Add(i);
                list.Add(-i);
                yield return new KeyValuePair<string, object?>[] { new("items", list) };
            }
        }

        var payloads = await PayloadsAsync(SharedList(), helpers: 2);

        for (int i = 0; i < Maps; i++)
        {
            Assert.Equal($"[{i},{-i}]", payloads[i].GetProperty("items").GetRawText());
        }
    }

    [Fact]
    public void A_value_with_no_JSON_form_past_the_first_chunk_fails_at_its_own_map()
    {
        int bad = (2 * FireBodyCollector.ChunkSize) + 5;
        using var collector = new FireBodyCollector(Fire(), helpers: 2);
        for (int i = 0; i < bad; i++)
        {
            collector.Add([new("i", i)]);
        }

        var ex = Assert.Throws<UnserializableValueException>(() => collector.Add([new("i", bad), new("what", new object())]));

        Assert.Contains("Object has no JSON form", ex.Message, StringComparison.Ordinal);
        Assert.Equal(bad, collector.Count);
        Assert.Throws<UnserializableValueException>(() => collector.Add([new("nan", double.NaN)]));
    }
}
