using System.Text;
using System.Text.Json;
using LoomSched.Config;
using LoomSched.Config.Yaml;
using LoomSched.Dispatch;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Dispatch;

/// <summary>
/// An integer beyond 64 bits reaches the wire as its exact digits, as Loom sends it (PyYAML's safe_load, then
/// json.dumps), not as a rounded float; Python reads and writes no int of more than 4,300 digits, so none loads.
/// </summary>
public sealed class BigIntegerWireFacts
{
    private static readonly DateTimeOffset Slot = DateTimeOffset.Parse("2026-11-27T03:00:00Z");
    private static readonly FakeTimeProvider Clock = new(DateTimeOffset.Parse("2026-11-27T03:00:00.0012345Z"));

    // Each spelling and what json.dumps(yaml.safe_load(...)) writes for it, as computed with PyYAML 6.0.3.
    public static TheoryData<string, string> Spellings() => new()
    {
        { "9223372036854775808", "9223372036854775808" },
        { "-9223372036854775809", "-9223372036854775809" },
        { "18446744073709551616", "18446744073709551616" },
        { "+18446744073709551616", "18446744073709551616" },
        { "123456789012345678901234567890", "123456789012345678901234567890" },
        { "1_000_000_000_000_000_000_000", "1000000000000000000000" },
        { "0x7FFFFFFFFFFFFFFFFF", "2361183241434822606847" },
        { "0x_FFFF_FFFF_FFFF_FFFF", "18446744073709551615" },
        { "0x8000000000000000", "9223372036854775808" },
        { "-0x10000000000000000", "-18446744073709551616" },
        { "012345670123456701234567", "96374504495306324343" },
        { "-0_1777777777777777777777", "-18446744073709551615" },
        { "0b10000000000000000000000000000000000000000000000000000000000000000", "18446744073709551616" },
        { "-0b1_0000000000000000000000000000000000000000000000000000000000000000", "-18446744073709551616" },
        { "1:0:0:0:0:0:0:0:0:0:0:0", "36279705600000000000" },
        { "-190:20:30:59:59:59:59:59:59:59:59:59", "-6905549707775999999999" },
        { "1_0:00:00:00:00:00:00:00:00:00:00", "6046617600000000000" },
        { "!!int 18446744073709551616", "18446744073709551616" },
        // the ends of long stay longs, written as before
        { "9223372036854775807", "9223372036854775807" },
        { "-9223372036854775808", "-9223372036854775808" },
    };

    private static SchedulerConfig Load(string payloadValue, string contextValue)
    {
        string yaml = $$$"""
            name: t
            schedules:
              - name: task
                interval_seconds: 60
                task: {worker_type: w, payload: {v: {{{payloadValue}}}, n: 1}}
              - name: goal
                cron: "0 * * * *"
                goal: {instruction: i, context: {v: {{{contextValue}}}}}
            """;
        var result = ConfigLoader.LoadText(yaml, "t.yaml");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return result.Config!;
    }

    private static JsonElement Field(DispatchMessage message, string field) =>
        JsonDocument.Parse(message.Body).RootElement.GetProperty(field).Clone();

    [Theory]
    [MemberData(nameof(Spellings))]
    public void An_integer_of_a_payload_or_context_is_sent_as_the_exact_digits_Loom_sends(string yaml, string json)
    {
        var config = Load(yaml, yaml);
        var builder = new MessageBuilder(config, Clock);

        var task = builder.Build(config.Schedules[0], Slot, null, 0);
        var goal = builder.Build(config.Schedules[1], Slot, null, 0);

        Assert.Equal($$"""{"v":{{json}},"n":1}""", Field(task, "payload").GetRawText());
        Assert.Equal($$"""{"v":{{json}}}""", Field(goal, "context").GetRawText());
    }

    [Fact]
    public void An_expansion_map_merged_over_the_payload_sends_its_big_integers_exactly()
    {
        var config = Load("18446744073709551616", "1");
        var builder = new MessageBuilder(config, Clock);
        KeyValuePair<string, object?>[] map =
            [new("id", System.Numerics.BigInteger.Parse("123456789012345678901234567890")), new("n", 2L)];

        var message = builder.Build(config.Schedules[0], Slot, map, 0);

        Assert.Equal("""{"v":18446744073709551616,"n":2,"id":123456789012345678901234567890}""", Field(message, "payload").GetRawText());
    }

    [Theory]
    [InlineData(WireFormat.Bare)]
    [InlineData(WireFormat.Envelope)]
    public async Task Every_message_of_a_fan_out_fire_sends_the_big_integers_of_the_config_and_of_its_map_exactly(WireFormat wire)
    {
        var loaded = Load("-9223372036854775809", "1");
        var config = new SchedulerConfig { Name = loaded.Name, Schedules = loaded.Schedules, Wire = wire, SubjectPrefix = "heddle" };
        var fire = new MessageBuilder(config, Clock).ForFire(config.Schedules[0], Slot);
        int count = FireBodyCollector.ChunkSize + 3;

        using var collector = new FireBodyCollector(fire, helpers: 1);
        for (int i = 0; i < count; i++)
        {
            collector.Add([new("u", (System.Numerics.BigInteger)ulong.MaxValue + i), new("i", i)]);
        }
        using var bodies = collector.Finish();
        await bodies.WhenAllBuiltAsync();

        Assert.Equal(count, bodies.Count);
        int index = 0;
        foreach (var body in bodies)
        {
            string text = Encoding.UTF8.GetString(body.Span);
            Assert.Contains(
                $$"""{"v":-9223372036854775809,"n":1,"u":{{(System.Numerics.BigInteger)ulong.MaxValue + index}},"i":{{index}}}""",
                text, StringComparison.Ordinal);
            index++;
        }
    }

    [Fact]
    public void A_schedule_made_at_run_time_sends_its_big_integers_exactly_and_its_yaml_becomes_json_that_keeps_them()
    {
        var config = Load("1", "1");
        var entry = EntryLoader.Load(
            """{"name": "r", "interval_seconds": 60, "task": {"worker_type": "w", "payload": {"v": -18446744073709551616, "l": [123456789012345678901234567890]}}}""",
            config, null, "control");
        Assert.True(entry.Success, string.Join("\n", entry.Errors));

        var message = new MessageBuilder(config, Clock).Build(entry.Definition!, Slot, null, 0);

        Assert.Equal("""{"v":-18446744073709551616,"l":[123456789012345678901234567890]}""", Field(message, "payload").GetRawText());
        Assert.Equal(
            """{"name":"r","task":{"payload":{"v":18446744073709551616}}}""",
            EntryLoader.ToJson("name: r\ntask: {payload: {v: 0x10000000000000000}}\n", out var errors));
        Assert.Empty(errors);
    }

    [Fact]
    public void An_integer_of_as_many_digits_as_Python_writes_is_sent_whole()
    {
        string digits = "-" + new string('9', 4300);
        var config = Load(digits, "1");

        var message = new MessageBuilder(config, Clock).Build(config.Schedules[0], Slot, null, 0);

        Assert.Equal($$"""{"v":{{digits}},"n":1}""", Field(message, "payload").GetRawText());
    }

    // Python refuses to read a decimal int of more digits, and to write any: Loom could neither load nor send it.
    [Theory]
    [InlineData("1")]
    [InlineData("-9")]
    [InlineData("0x1")]
    [InlineData("01")]
    [InlineData("0b1")]
    [InlineData("1:0")]
    [InlineData("!!int 1")]
    public void An_integer_of_more_digits_than_Python_writes_is_refused_where_it_stands(string start)
    {
        // Each start followed by enough zeros (in its base) is at least ten to the power of the limit.
        string value = start switch
        {
            "0b1" => start + new string('0', 14300),
            "01" => start + new string('0', 4800),
            "1:0" => start + string.Concat(Enumerable.Repeat(":00", 2500)),
            _ => start + new string('0', 4300),
        };
        string yaml = $"name: t\nschedules:\n  - name: a\n    interval_seconds: 60\n    task:\n      worker_type: w\n      payload: {{v: {value}}}\n";

        var result = ConfigLoader.LoadText(yaml, "t.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Equal("schedules[0].task.payload.v", error.Path);
        Assert.Equal((7, 20), (error.Location.Line, error.Location.Column));
        Assert.Equal("this value is an integer of more than 4,300 digits, which Python (Loom) refuses to read or write as text", error.Message);
    }

    [Fact]
    public void A_key_beyond_64_bits_is_its_exact_digits_and_one_of_more_digits_than_Python_writes_is_refused()
    {
        string huge = "0x1" + new string('0', 3600);
        string yaml = $"name: t\nschedules:\n  - name: a\n    interval_seconds: 60\n    task:\n      worker_type: w\n      payload:\n        m: {{0x10000000000000000: a, {huge}: b}}\n";

        var result = ConfigLoader.LoadText(yaml, "t.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Equal(("schedules[0].task.payload.m", 8, 37), (error.Path, error.Location.Line, error.Location.Column));
        Assert.Equal("this key is an integer of more than 4,300 digits, which Python (Loom) refuses to read or write as text", error.Message);
        var loaded = ConfigLoader.LoadText(yaml.Replace(", " + huge + ": b", "", StringComparison.Ordinal), "t.yaml");
        var payload = Assert.IsType<TaskTemplate>(loaded.Config!.Schedules[0].Template).Payload;
        Assert.Equal(["18446744073709551616"], Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(payload["m"]).Keys);
    }

    // Python's float() of the digits is infinity, whatever their number; a payload then refuses it as infinite.
    [Theory]
    [InlineData(400)]
    [InlineData(5000)]
    public void An_integer_tagged_float_beyond_any_double_is_infinity_as_Python_reads_it(int zeros)
    {
        var scalar = new ScalarNode(default, "-1" + new string('0', zeros), isPlain: true, "tag:yaml.org,2002:float");

        Assert.True(ScalarTyping.TryResolve(scalar, out object? value, out _));
        Assert.Equal(double.NegativeInfinity, value);
    }

    [Theory]
    [InlineData("interval_seconds: 18446744073709551616", "schedules[0].interval_seconds", "an interval may be at most")]
    [InlineData("interval_seconds: 1{400 zeros}", "schedules[0].interval_seconds", "must be a finite number greater than 0 (seconds), got \"1000")]
    [InlineData("jitter_seconds: 18446744073709551616", "schedules[0].jitter_seconds", "must be a number of seconds from 0 to")]
    [InlineData("max_expansion: 18446744073709551616", "schedules[0].max_expansion", "must be a whole number greater than 0 (messages per fire), got 18446744073709551616")]
    [InlineData("expand_timeout_seconds: -0x10000000000000000", "schedules[0].expand_timeout_seconds", "must be a number greater than 0 (seconds), got -0x10000000000000000")]
    [InlineData("task: {worker_type: 18446744073709551616}", "schedules[0].task.worker_type", "which YAML reads as a number; put it in quotes")]
    public void A_number_field_given_an_integer_beyond_64_bits_refuses_it_as_out_of_range(string entry, string path, string message)
    {
        entry = entry.Replace("{400 zeros}", new string('0', 400), StringComparison.Ordinal);
        string yaml = $"name: t\nschedules:\n  - name: a\n    {(entry.StartsWith("interval", StringComparison.Ordinal) ? "" : "interval_seconds: 60\n    ")}{entry}\n"
            + (entry.StartsWith("task", StringComparison.Ordinal) ? "" : "    task: {worker_type: w}\n")
            + (entry.StartsWith("max_exp", StringComparison.Ordinal) || entry.StartsWith("expand_t", StringComparison.Ordinal) ? "    expand_from: range\n" : "");

        var result = ConfigLoader.LoadText(yaml, "t.yaml");

        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_top_level_count_given_an_integer_beyond_64_bits_refuses_it_as_out_of_range()
    {
        var result = ConfigLoader.LoadText(
            "name: t\nmax_pending: 18446744073709551616\nschedules:\n  - name: a\n    interval_seconds: 60\n    task: {worker_type: w}\n", "t.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Equal("max_pending", error.Path);
        Assert.Contains("got 18446744073709551616", error.Message, StringComparison.Ordinal);
    }
}
