using LoomSched.Expansion;

namespace LoomSched.Generators.Tests;

/// <summary>The helpers the generated invokers call: boxing without reflection, and clear errors on bad data.</summary>
public class ExpansionResultsFacts
{
    [Fact]
    public void Values_of_typed_maps_are_boxed_in_order()
    {
        var maps = ExpansionResults.Box<Dictionary<string, int>, int>([new() { ["a"] = 1, ["b"] = 2 }], "f")!;

        Assert.Equal(["a=1,b=2"], maps.Select(m => string.Join(",", m.Select(kv => $"{kv.Key}={kv.Value}"))).ToArray());
    }

    [Fact]
    public void A_typed_map_is_read_when_it_is_handed_over_so_a_map_the_function_reuses_keeps_each_value()
    {
        var maps = ExpansionResults.Box<Dictionary<string, int>, int>(Reused(), "f")!.ToList();

        // Read after the whole sequence was walked: each boxed map still holds what the function handed over then.
        Assert.Equal(["i=0", "i=1", "i=2"], maps.Select(m => string.Join(",", m.Select(kv => $"{kv.Key}={kv.Value}"))).ToArray());

        static IEnumerable<Dictionary<string, int>> Reused()
        {
            var map = new Dictionary<string, int>();
            for (var i = 0; i < 3; i++)
            {
                map["i"] = i;
                yield return map;
            }
        }
    }

    [Fact]
    public void Maps_of_object_values_are_passed_through_as_they_are()
    {
        var map = new Dictionary<string, object?> { ["a"] = 1 };

        var boxed = ExpansionResults.Box<Dictionary<string, object?>, object?>([map], "f")!;

        Assert.Same(map, Assert.Single(boxed));
    }

    [Fact]
    public void A_null_result_stays_null() =>
        Assert.Null(ExpansionResults.Box<Dictionary<string, int>, int>(null, "f"));

    [Fact]
    public void A_null_map_is_handed_on_as_null_for_the_engine_to_refuse_the_fire_naming_its_index()
    {
        var maps = ExpansionResults.Box<Dictionary<string, int>, int>([new(), null], "sessions.active")!.ToList();

        Assert.Equal(2, maps.Count);
        Assert.NotNull(maps[0]);
        Assert.Null(maps[1]);
    }

    [Fact]
    public async Task An_async_sequence_is_collected_then_boxed()
    {
        var maps = await ExpansionResults.CollectAsync<KeyValuePair<string, string>[], string>(Stream(), "f", CancellationToken.None);

        Assert.Equal(["k=v0", "k=v1"], maps!.Select(m => string.Join(",", m.Select(kv => $"{kv.Key}={kv.Value}"))).ToArray());

        static async IAsyncEnumerable<KeyValuePair<string, string>[]> Stream()
        {
            for (var i = 0; i < 2; i++)
            {
                await Task.Yield();
                yield return [new("k", $"v{i}")];
            }
        }
    }

    [Fact]
    public async Task An_async_sequence_that_fills_one_map_again_for_every_map_keeps_each_as_it_was_handed_over()
    {
        var maps = await ExpansionResults.CollectAsync<Dictionary<string, object?>, object?>(Reused(), "f", CancellationToken.None);

        var json = maps!.Select(m =>
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
            {
                LoomSched.Dispatch.JsonValueWriter.Write(writer, m);
            }
            return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        });
        Assert.Equal(
            ["""{"i":0,"tags":["t0"],"inner":{"n":0}}""", """{"i":1,"tags":["t1"],"inner":{"n":1}}""", """{"i":2,"tags":["t2"],"inner":{"n":2}}"""],
            json);

        static async IAsyncEnumerable<Dictionary<string, object?>> Reused()
        {
            var map = new Dictionary<string, object?>();
            var tags = new List<object?>();
            var inner = new Dictionary<string, int>();
            for (var i = 0; i < 3; i++)
            {
                await Task.Yield();
                tags.Clear();
                tags.Add($"t{i}");
                inner["n"] = i;
                map["i"] = (long)i;
                map["tags"] = tags;
                map["inner"] = inner;
                yield return map;
            }
        }
    }

    [Fact]
    public async Task An_endless_async_sequence_is_read_only_one_map_past_the_schedules_max_expansion()
    {
        int yielded = 0;
        var context = new ExpansionContext
        {
            ScheduleName = "s",
            ScheduledFor = DateTimeOffset.UnixEpoch,
            Args = new Dictionary<string, object?>(),
            MaxMaps = 10,
        };

        var maps = await ExpansionResults.CollectAsync<KeyValuePair<string, object?>[], object?>(Endless(), "f", context, CancellationToken.None);

        Assert.Equal(11, maps!.Count()); // the engine refuses more than max_expansion; the stream is not read on
        Assert.Equal(11, yielded);

        async IAsyncEnumerable<KeyValuePair<string, object?>[]> Endless()
        {
            for (long i = 0; ; i++)
            {
                await Task.Yield();
                yielded++;
                yield return [new("i", i)];
            }
        }
    }
}
