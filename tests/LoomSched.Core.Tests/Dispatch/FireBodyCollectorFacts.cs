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
        using var bodies = collector.Finish();
        await bodies.WhenAllBuiltAsync();
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
        using var bodies = collector.Finish();
        await bodies.WhenAllBuiltAsync();

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

    [Fact]
    public async Task A_chunk_no_helper_has_started_is_built_by_whoever_needs_its_bodies_first()
    {
        var chunks = new FireBodyCollector.Chunk[2];
        for (int c = 0; c < chunks.Length; c++)
        {
            chunks[c] = new FireBodyCollector.Chunk(c);
            for (int i = 0; i < FireBodyCollector.ChunkSize; i++)
            {
                DeferMap(chunks[c], [new("i", (c * FireBodyCollector.ChunkSize) + i)]);
            }
        }
        var bodies = new CollectedBodies(chunks, 2 * FireBodyCollector.ChunkSize, Fire(), null);

        var firstChunk = bodies.WhenBuiltAsync(FireBodyCollector.ChunkSize);

        Assert.True(firstChunk.IsCompletedSuccessfully);
        Assert.True(chunks[0].IsBuilt);
        Assert.False(chunks[1].IsBuilt);
        Assert.Equal(FireBodyCollector.ChunkSize - 1, Payload(bodies[FireBodyCollector.ChunkSize - 1]).GetProperty("i").GetInt32());
        await bodies.WhenAllBuiltAsync();
        Assert.Equal(Enumerable.Range(0, bodies.Count), bodies.Select(b => Payload(b).GetProperty("i").GetInt32()));
    }

    [Fact]
    public void A_body_read_before_its_chunk_is_built_is_refused_rather_than_read_as_empty()
    {
        var chunk = new FireBodyCollector.Chunk(0);
        DeferMap(chunk, [new("i", 1)]);
        var bodies = new CollectedBodies([chunk], 1, Fire(), null);

        var ex = Assert.Throws<InvalidOperationException>(() => bodies[0]);

        Assert.Contains("before its chunk was built", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Helpers_build_only_a_few_chunks_ahead_of_the_sender_so_that_bodies_die_young()
    {
        const int chunks = FireBodyCollector.AheadChunks + 12;
        using var collector = Collect(chunks * FireBodyCollector.ChunkSize, helpers: 1);
        var all = ChunksOf(collector);
        using var bodies = collector.Finish();

        await UntilAsync(() => all[FireBodyCollector.AheadChunks].IsBuilt);
        await Task.Delay(200);
        Assert.Equal(FireBodyCollector.AheadChunks + 1, all.Count(c => c.IsBuilt));

        await bodies.WhenBuiltAsync(3 * FireBodyCollector.ChunkSize); // the sender needs chunk 3 next
        await UntilAsync(() => all[3 + FireBodyCollector.AheadChunks].IsBuilt);
        await Task.Delay(200);
        Assert.Equal(3 + FireBodyCollector.AheadChunks + 1, all.Count(c => c.IsBuilt));

        await bodies.WhenAllBuiltAsync();
        Assert.All(all, c => Assert.True(c.IsBuilt));
        await UntilAsync(() => collector.ActiveHelpers == 0);
    }

    [Fact]
    public async Task The_helper_of_a_fire_that_ends_before_it_is_sent_stops_without_building_the_rest()
    {
        var collector = Collect(30 * FireBodyCollector.ChunkSize, helpers: 1);
        var all = ChunksOf(collector);
        var bodies = collector.Finish();
        collector.Dispose();
        await UntilAsync(() => all[FireBodyCollector.AheadChunks].IsBuilt);

        bodies.Dispose();

        await UntilAsync(() => collector.ActiveHelpers == 0);
        Assert.False(all[^1].IsBuilt);
    }

    [Fact]
    public async Task The_helper_of_a_fire_that_fails_while_its_maps_are_read_stops()
    {
        var collector = Collect(30 * FireBodyCollector.ChunkSize, helpers: 1);
        await UntilAsync(() => collector.ActiveHelpers == 1);

        collector.Dispose(); // a bad map, a timeout: Finish is never called

        await UntilAsync(() => collector.ActiveHelpers == 0);
    }

    [Fact]
    public async Task Maps_of_every_size_plain_or_not_mixed_in_one_chunk_each_keep_their_own_pairs()
    {
        static KeyValuePair<string, object?>[] MapOf(int i)
        {
            var pairs = new List<KeyValuePair<string, object?>>();
            for (int k = 0; k < i % 11; k++)
            {
                pairs.Add(new($"k{k}", i * 100 + k));
            }
            if (i % 3 == 0)
            {
                pairs.Add(new("list", new List<object?> { i }));
            }
            return [.. pairs];
        }
        static string Expected(int i)
        {
            var fields = Enumerable.Range(0, i % 11).Select(k => $"\"k{k}\":{i * 100 + k}").ToList();
            if (i % 3 == 0)
            {
                fields.Add($"\"list\":[{i}]");
            }
            return "{\"check\":\"system_status\"" + string.Concat(fields.Select(f => "," + f)) + "}";
        }

        var payloads = await PayloadsAsync(Enumerable.Range(0, Maps).Select(i => (IEnumerable<KeyValuePair<string, object?>>)MapOf(i)), helpers: 1);

        for (int i = 0; i < Maps; i++)
        {
            Assert.Equal(Expected(i), payloads[i].GetRawText());
        }
    }

    private static void DeferMap(FireBodyCollector.Chunk chunk, KeyValuePair<string, object?>[] pairs)
    {
        int at = chunk.StartMap();
        chunk.AppendPairs(pairs);
        chunk.DeferMap(at);
    }

    private static FireBodyCollector Collect(int maps, int helpers)
    {
        var collector = new FireBodyCollector(Fire(), helpers);
        for (int i = 0; i < maps; i++)
        {
            collector.Add([new("i", i)]);
        }
        return collector;
    }

    private static FireBodyCollector.Chunk[] ChunksOf(FireBodyCollector collector) => [.. collector.Chunks];

    private static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(5);
        }
    }

    private static JsonElement Payload(ReadOnlyMemory<byte> body) => JsonDocument.Parse(body).RootElement.GetProperty("payload").Clone();
}
