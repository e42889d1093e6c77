using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Dispatch;

public partial class MessageBuilderFacts
{
    private static readonly DateTimeOffset Slot = DateTimeOffset.Parse("2026-11-27T03:00:00Z");
    private static readonly FakeTimeProvider Clock = new(DateTimeOffset.Parse("2026-11-27T03:00:00.0012345Z"));

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    private static partial Regex UuidV4();

    private static string BodyWithId(DispatchMessage message, string idField, out string id)
    {
        var json = Encoding.UTF8.GetString(message.Body.Span);
        id = JsonDocument.Parse(json).RootElement.GetProperty(idField).GetString()!;
        return json.Replace(id, "<uuid>", StringComparison.Ordinal);
    }

    private static string NewId()
    {
        Span<byte> ascii = stackalloc byte[LoomSched.Dispatch.UuidV4.Length];
        LoomSched.Dispatch.UuidV4.Fill(ascii);
        return Encoding.ASCII.GetString(ascii);
    }

    // --- exact JSON ---

    [Fact]
    public void Goal_json_is_exactly_Loom_OrchestratorGoal()
    {
        var schedule = TestSchedules.Cron("hourly_summarize", "0 * * * *");
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(schedule, Slot, null, 0);

        var json = BodyWithId(message, "goal_id", out var id);
        Assert.Equal(
            """{"goal_id":"<uuid>","instruction":"Summarize","context":{"source":"incoming_docs"},"request_id":null,"priority":"normal","created_at":"2026-11-27T03:00:00.001234Z"}""",
            json);
        Assert.Matches(UuidV4(), id);
        Assert.Equal("loom.goals.incoming", message.Subject);
    }

    [Fact]
    public void Task_json_is_exactly_Loom_TaskMessage_with_metadata()
    {
        var schedule = TestSchedules.Interval("every_5m_healthcheck", 300);
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(schedule, Slot, null, 0);

        var json = BodyWithId(message, "task_id", out var id);
        Assert.Equal(
            """{"task_id":"<uuid>","parent_task_id":null,"worker_type":"worker","payload":{"check":"system_status"},"model_tier":"local","priority":"low","created_at":"2026-11-27T03:00:00.001234Z","request_id":null,"metadata":{"scheduled_by":"every_5m_healthcheck","scheduled_for":"2026-11-27T03:00:00Z"}}""",
            json);
        Assert.Matches(UuidV4(), id);
        Assert.Equal("loom.tasks.incoming", message.Subject);
    }

    [Fact]
    public void Json_parses_back_to_the_same_fields()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(
            schedule, Slot, [new("session", "s-1"), new("check", "override")], 3);

        var root = JsonNode.Parse(message.Body.Span)!.AsObject();
        Assert.Equal(["task_id", "parent_task_id", "worker_type", "payload", "model_tier", "priority", "created_at", "request_id", "metadata"],
            root.Select(p => p.Key));
        Assert.Equal("override", (string?)root["payload"]!["check"]);
        Assert.Equal("s-1", (string?)root["payload"]!["session"]);
        Assert.Equal("poll", (string?)root["metadata"]!["scheduled_by"]);
    }

    [Fact]
    public void Every_message_gets_a_new_id()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var builder = new MessageBuilder(TestSchedules.Config(schedule), Clock);
        var ids = Enumerable.Range(0, 100)
            .Select(i => JsonDocument.Parse(builder.Build(schedule, Slot, null, i).Body).RootElement.GetProperty("task_id").GetString())
            .ToHashSet();
        Assert.Equal(100, ids.Count);
    }

    // --- ids ---

    [Fact]
    public void Ids_are_random_uuid_v4_and_never_repeat_across_many_pools()
    {
        // 256 ids per pool of random bytes: 10,000 cross dozens of refills.
        var ids = Enumerable.Range(0, 10_000).Select(_ => NewId()).ToList();
        Assert.All(ids, id => Assert.Matches(UuidV4(), id));
        Assert.Equal(ids.Count, ids.ToHashSet(StringComparer.Ordinal).Count);
        // Each of the 122 random bits is set in about half of the ids (fixed bits excepted): no byte is stuck.
        var guids = ids.Select(id => Guid.Parse(id).ToByteArray(bigEndian: true)).ToList();
        for (int bit = 0; bit < 128; bit++)
        {
            if (bit is >= 48 and < 52 or >= 64 and < 66)
            {
                continue; // version and variant
            }
            int ones = guids.Count(g => (g[bit / 8] & (0x80 >> (bit % 8))) != 0);
            Assert.InRange(ones, 4_500, 5_500);
        }
        Assert.All(guids, g => Assert.Equal(4, g[6] >> 4));
        Assert.All(guids, g => Assert.Equal(0b10, g[8] >> 6));
    }

    [Fact]
    public async Task Ids_drawn_on_many_threads_at_once_never_repeat()
    {
        var perThread = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            Enumerable.Range(0, 2_000).Select(_ => NewId()).ToList())));
        var all = perThread.SelectMany(x => x).ToList();
        Assert.Equal(all.Count, all.ToHashSet(StringComparer.Ordinal).Count);
        Assert.All(all, id => Assert.Matches(UuidV4(), id));
    }

    // --- bodies ---

    // Without expand_from a message is written field by field; a fan-out's from its schedule's frame.
    [Theory]
    [InlineData(null)]
    [InlineData("range")]
    public void Bodies_stay_intact_while_later_messages_are_built(string? expandFrom)
    {
        var schedule = TestSchedules.Interval("poll", 30, expandFrom);
        var fire = new MessageBuilder(TestSchedules.Config(schedule), Clock).ForFire(schedule, Slot);
        var big = new string('x', 3 * BodyArena.ChunkBytes); // a body larger than a chunk, among small ones
        var built = new List<(DispatchMessage Message, byte[] Copy)>();
        for (int i = 0; i < 2_000; i++)
        {
            var message = fire.Build([new("i", (long)i), new("text", i % 500 == 7 ? big : "short")], i);
            built.Add((message, message.Body.ToArray()));
        }
        for (int i = 0; i < built.Count; i++)
        {
            var (message, copy) = built[i];
            Assert.True(message.Body.Span.SequenceEqual(copy), $"body {i} changed after it was handed out");
            var payload = JsonDocument.Parse(message.Body).RootElement.GetProperty("payload");
            Assert.Equal(i, payload.GetProperty("i").GetInt64());
            Assert.Equal($"test_scheduler/poll/2026-11-27T03:00:00Z/{i}", message.MessageId);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("range")]
    public void A_message_that_fails_leaves_the_bodies_before_and_after_it_whole(string? expandFrom)
    {
        var schedule = TestSchedules.Interval("poll", 30, expandFrom);
        var builder = new MessageBuilder(TestSchedules.Config(schedule), Clock);
        var before = builder.Build(schedule, Slot, [new("n", 1L)], 0);
        var copy = before.Body.ToArray();
        Assert.Throws<UnserializableValueException>(() =>
            builder.Build(schedule, Slot, [new("n", 2L), new("long", new string('y', 5_000)), new("bad", new object())], 1));
        var after = builder.Build(schedule, Slot, [new("n", 3L)], 2);

        Assert.True(before.Body.Span.SequenceEqual(copy));
        Assert.Equal(1, JsonDocument.Parse(before.Body).RootElement.GetProperty("payload").GetProperty("n").GetInt64());
        var json = BodyWithId(after, "task_id", out _);
        Assert.Equal(
            """{"task_id":"<uuid>","parent_task_id":null,"worker_type":"worker","payload":{"check":"system_status","n":3},"model_tier":"local","priority":"low","created_at":"2026-11-27T03:00:00.001234Z","request_id":null,"metadata":{"scheduled_by":"poll","scheduled_for":"2026-11-27T03:00:00Z"}}""",
            json);
    }

    [Fact]
    public async Task Fires_building_at_once_on_many_threads_get_whole_bodies()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var builder = new MessageBuilder(TestSchedules.Config(schedule), Clock);
        var fires = await Task.WhenAll(Enumerable.Range(0, 6).Select(t => Task.Run(() =>
        {
            var fire = builder.ForFire(schedule, Slot.AddSeconds(t));
            return Enumerable.Range(0, 3_000).Select(i => fire.Build([new("t", (long)t), new("i", (long)i)], i)).ToList();
        })));
        for (int t = 0; t < fires.Length; t++)
        {
            for (int i = 0; i < fires[t].Count; i++)
            {
                var payload = JsonDocument.Parse(fires[t][i].Body).RootElement.GetProperty("payload");
                Assert.Equal((t, i), (payload.GetProperty("t").GetInt64(), payload.GetProperty("i").GetInt64()));
            }
        }
    }

    [Fact]
    public void Arena_moves_a_body_that_outgrows_its_chunk_whole_and_keeps_committed_ones()
    {
        var arena = new BodyArena();
        void Write(byte value, int count)
        {
            var span = arena.GetSpan(count);
            span[..count].Fill(value);
            arena.Advance(count);
        }
        Write(1, 100);
        var first = arena.Commit();
        Write(2, BodyArena.ChunkBytes - 150); // fills the chunk but for 50 bytes
        Write(3, 10);
        Write(4, 200);                        // does not fit: the body moves to a new chunk, its start with it
        var second = arena.Commit();
        Write(9, 30);
        arena.Discard();                      // a failed body leaves nothing behind
        Write(5, 10);
        var third = arena.Commit();

        Assert.Equal(Enumerable.Repeat((byte)1, 100), first.ToArray());
        Assert.Equal(BodyArena.ChunkBytes - 150 + 10 + 200, second.Length);
        Assert.Equal(
            Enumerable.Repeat((byte)2, BodyArena.ChunkBytes - 150).Concat(Enumerable.Repeat((byte)3, 10)).Concat(Enumerable.Repeat((byte)4, 200)),
            second.ToArray());
        Assert.Equal(Enumerable.Repeat((byte)5, 10), third.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => arena.Advance(BodyArena.ChunkBytes * 4));
    }

    // --- headers ---

    [Fact]
    public void Headers_name_the_schedule_slot_and_a_deduplication_id()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(schedule, Slot.AddTicks(5), null, 7);
        Assert.Equal("poll", message.ScheduleName);
        Assert.Equal("2026-11-27T03:00:00Z", message.ScheduledFor); // half a microsecond is below Loom's precision
        Assert.Equal("test_scheduler/poll/2026-11-27T03:00:00Z/7", message.MessageId);
        Assert.NotSame(message.MessageId, message.MessageId); // spelled when read: a fan-out's messages keep no id strings
        message.KeepId();
        Assert.Same(message.MessageId, message.MessageId); // a message made ahead of its slot keeps its id spelled
        Assert.Equal("test_scheduler/poll/2026-11-27T03:00:00Z/7", message.MessageId);
    }

    [Fact]
    public void Messages_of_one_fire_share_their_subject_and_slot_text()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var fire = new MessageBuilder(TestSchedules.Config(schedule), Clock).ForFire(schedule, Slot);
        var (a, b) = (fire.Build(null, 0), fire.Build(null, 1));
        Assert.Same(a.ScheduledFor, b.ScheduledFor);
        Assert.Same(a.Subject, b.Subject);
        Assert.Equal(["test_scheduler/poll/2026-11-27T03:00:00Z/0", "test_scheduler/poll/2026-11-27T03:00:00Z/1"], [a.MessageId, b.MessageId]);
        var given = new DispatchMessage("s.t", a.Body, "poll", "2026-11-27T03:00:00Z", "any/id");
        Assert.Equal("any/id", given.MessageId);
    }

    [Fact]
    public void Subject_prefix_changes_the_subjects()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var config = new SchedulerConfig { Name = "s", SubjectPrefix = "heddle", Schedules = [schedule] };
        Assert.Equal("heddle.tasks.incoming", new MessageBuilder(config, Clock).Build(schedule, Slot, null, 0).Subject);
        Assert.Equal("heddle.scheduler.s", config.ControlSubject);
        Assert.Equal("heddle.control.reload", config.ReloadSubject);
    }

    // --- timestamps ---

    [Theory]
    [InlineData("2026-11-27T02:29:25.1234567Z", "2026-11-27T02:29:25.123456Z")]
    [InlineData("2026-11-27T02:29:25.0000010Z", "2026-11-27T02:29:25.000001Z")]
    [InlineData("2026-11-27T02:29:25.0000009Z", "2026-11-27T02:29:25Z")]
    [InlineData("2026-11-27T02:29:25Z", "2026-11-27T02:29:25Z")]
    [InlineData("2026-11-27T03:29:25.5+01:00", "2026-11-27T02:29:25.500000Z")]
    public void Timestamps_are_utc_with_six_fraction_digits_or_none(string instant, string expected)
    {
        Assert.Equal(expected, LoomTime.Format(DateTimeOffset.Parse(instant)));
    }

    [Fact]
    public void A_speller_spells_instants_one_after_another_as_they_are_spelled_alone()
    {
        var start = DateTimeOffset.Parse("2026-12-31T23:59:59.9999000Z");
        // Within a second, across seconds, a day and a year, whole seconds, and a clock that steps back.
        long[] steps = [0, 1, 20, 400, 999, 3_000, 10_000_000, -5_000_000, 7, 10_000_000 * 86_400L, -1];
        var speller = new LoomTime.Speller();
        var instant = start;
        Span<byte> spelled = stackalloc byte[LoomTime.MaxLength];
        foreach (long step in steps)
        {
            instant = instant.AddTicks(step);
            foreach (var at in new[] { instant, new DateTimeOffset(instant.UtcTicks - (instant.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero) })
            {
                int length = speller.FormatUtf8(at, spelled);
                Assert.Equal(LoomTime.Format(at), Encoding.ASCII.GetString(spelled[..length]));
            }
        }
    }

    // --- merging and values ---

    [Fact]
    public void Expansion_merges_shallowly_over_the_config_map_and_wins()
    {
        var payload = TestSchedules.Map(("a", 1L), ("nested", TestSchedules.Map(("x", 1L), ("y", 2L))), ("b", "keep"));
        var schedule = TestSchedules.Interval("poll", 30, payload: payload);
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(
            schedule, Slot, [new("nested", new Dictionary<string, object?> { ["x"] = 9L }), new("c", true), new("a", 2L)], 0);

        var body = JsonDocument.Parse(message.Body).RootElement.GetProperty("payload").GetRawText();
        Assert.Equal("""{"a":2,"nested":{"x":9},"b":"keep","c":true}""", body);
    }

    private static IEnumerable<KeyValuePair<string, object?>> Pairs(params (string Key, object? Value)[] pairs)
    {
        foreach (var (key, value) in pairs)
        {
            yield return new(key, value); // an iterator: its size is not known before it is read
        }
    }

    [Theory]
    [InlineData("list")]
    [InlineData("iterator")]
    [InlineData("array")]
    public void A_key_repeated_in_the_expansion_map_keeps_its_first_place_and_its_last_value(string kind)
    {
        var schedule = TestSchedules.Interval("poll", 30, payload: TestSchedules.Map(("a", 1L), ("b", 2L)));
        var builder = new MessageBuilder(TestSchedules.Config(schedule), Clock);
        (string, object?)[] overlay = [("z", 1L), ("b", 20L), ("z", 3L), ("y", null), ("b", 21L)];
        for (int i = 0; i < 3; i++) // the scratch the iterator case uses comes back clean
        {
            var pairs = overlay.Select(p => new KeyValuePair<string, object?>(p.Item1, p.Item2));
            IEnumerable<KeyValuePair<string, object?>> map = kind switch
            {
                "iterator" => Pairs(overlay),
                "array" => pairs.ToArray(), // an array of distinct keys is used as it is; this one is not distinct
                _ => pairs.ToList(),
            };
            var body = JsonDocument.Parse(builder.Build(schedule, Slot, map, 0).Body).RootElement.GetProperty("payload").GetRawText();
            Assert.Equal("""{"a":1,"b":21,"z":3,"y":null}""", body);
        }
        var many = Pairs([.. Enumerable.Range(0, 300).Select(k => ($"k{k}", (object?)(long)k))]);
        var wide = JsonDocument.Parse(builder.Build(schedule, Slot, many, 0).Body).RootElement.GetProperty("payload");
        Assert.Equal(302, wide.EnumerateObject().Count());
        Assert.Equal(299, wide.GetProperty("k299").GetInt64());
    }

    [Fact]
    public void Values_of_every_json_compatible_kind_are_written()
    {
        var schedule = TestSchedules.Interval("poll", 30, payload: FreeformMap.Empty);
        var overlay = new List<KeyValuePair<string, object?>>
        {
            new("null", null), new("int", 42), new("long", 1L << 40), new("whole", 2.0), new("pi", 3.25),
            new("dec", 1.5m), new("list", new object?[] { 1L, "two", null }), new("node", JsonNode.Parse("""{"k":[1]}""")),
            new("element", JsonDocument.Parse("[true]").RootElement), new("when", DateTimeOffset.Parse("2026-01-01T00:00:00Z")),
        };
        var message = new MessageBuilder(TestSchedules.Config(schedule), Clock).Build(schedule, Slot, overlay, 0);
        var body = JsonDocument.Parse(message.Body).RootElement.GetProperty("payload").GetRawText();
        Assert.Equal(
            """{"null":null,"int":42,"long":1099511627776,"whole":2.0,"pi":3.25,"dec":1.5,"list":[1,"two",null],"node":{"k":[1]},"element":[true],"when":"2026-01-01T00:00:00Z"}""",
            body);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Non_finite_numbers_are_refused(double value)
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var builder = new MessageBuilder(TestSchedules.Config(schedule), Clock);
        Assert.Throws<UnserializableValueException>(() => builder.Build(schedule, Slot, [new("x", value)], 0));
    }

    [Fact]
    public void Objects_without_a_json_form_are_refused_with_their_type()
    {
        var schedule = TestSchedules.Interval("poll", 30);
        var builder = new MessageBuilder(TestSchedules.Config(schedule), Clock);
        var ex = Assert.Throws<UnserializableValueException>(() => builder.Build(schedule, Slot, [new("x", new object())], 0));
        Assert.Contains("Object", ex.Message);
    }
}
