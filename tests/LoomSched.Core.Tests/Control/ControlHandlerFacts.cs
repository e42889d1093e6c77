using System.Text;
using System.Text.Json;
using LoomSched.Control;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Control;

/// <summary>
/// The control handler's word to its host about the pauses it carries out (high availability records them), and its
/// reply to a request that is not JSON.
/// </summary>
public sealed class ControlHandlerFacts
{
    private readonly List<(string Action, string Schedule)> _applied = [];
    private string? _refusal;

    private ControlHandler Handler()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-27T02:59:30Z"));
        var engine = new SchedulerEngine(
            TestSchedules.Config(TestSchedules.Interval("a", 1)), new RecordingPort(clock), clock, new EngineOptions());
        return new ControlHandler(engine, () => throw new InvalidOperationException("no reload here"), "test")
        {
            Guard = _ => _refusal,
            Applied = (action, schedule) => _applied.Add((action, schedule)),
        };
    }

    private static bool Ok(byte[] reply) => JsonDocument.Parse(reply).RootElement.GetProperty("ok").GetBoolean();

    private static byte[] Request(string json) => Encoding.UTF8.GetBytes(json);

    [Fact]
    public void Every_pause_and_resume_carried_out_is_told_to_the_host_in_order()
    {
        var handler = Handler();
        Assert.True(Ok(handler.Handle(Request("""{"action":"pause","schedule":"a"}"""))));
        Assert.True(Ok(handler.Handle(Request("""{"action":"resume","schedule":"a"}"""))));
        Assert.Equal([("pause", "a"), ("resume", "a")], _applied);
    }

    [Fact]
    public void Refused_actions_triggers_and_status_are_not_told()
    {
        var handler = Handler();
        Assert.False(Ok(handler.Handle(Request("""{"action":"pause","schedule":"nope"}"""))));
        Assert.True(Ok(handler.Handle(Request("""{"action":"trigger","schedule":"a"}"""))));
        Assert.True(Ok(handler.Handle(Request("{}"))));
        _refusal = "this replica is a follower";
        Assert.False(Ok(handler.Handle(Request("""{"action":"pause","schedule":"a"}"""))));
        Assert.Empty(_applied);
    }

    [Fact]
    public void A_request_that_is_not_json_is_refused_with_the_place_and_the_reason_in_plain_words()
    {
        var reply = JsonDocument.Parse(Handler().Handle(Request("not json"))).RootElement;

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(
            "request is not valid JSON at line 1, column 1 (unexpected 'not'; text goes in double quotes); send e.g. {\"action\": \"status\"}",
            reply.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("""{"action":"trigger","schedule":"a\nb: ok"}""", "no schedule", @"a\nb: ok")]
    [InlineData("""{"action":"stat\u001b[2Jus"}""", "unknown action", @"stat\u001b[2Jus")]
    public void What_an_error_reply_quotes_from_the_request_is_escaped_to_one_line(string request, string says, string quoted)
    {
        string error = JsonDocument.Parse(Handler().Handle(Request(request))).RootElement.GetProperty("error").GetString()!;

        Assert.Contains(says, error, StringComparison.Ordinal);
        Assert.Contains(quoted, error, StringComparison.Ordinal);
        Assert.False(LoomSched.Config.UserText.NeedsEscape(error), error);
    }

    [Theory]
    [InlineData("""{"action":"status","action":"reload"}""", "action")]
    [InlineData("""{"action":"pause","schedule":"a","schedule":"b"}""", "schedule")]
    [InlineData("""{"x":1,"action":"status","x":2}""", "x")]
    public void A_request_with_a_key_twice_is_refused_naming_the_key_and_nothing_changes(string request, string key)
    {
        bool reloaded = false;
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-27T02:59:30Z"));
        var engine = new SchedulerEngine(
            TestSchedules.Config(TestSchedules.Interval("a", 1)), new RecordingPort(clock), clock, new EngineOptions());
        var handler = new ControlHandler(engine, () => { reloaded = true; return new ReloadOutcome(true, "reloaded", []); }, "test")
        {
            Applied = (action, schedule) => _applied.Add((action, schedule)),
        };

        var reply = JsonDocument.Parse(handler.Handle(Request(request))).RootElement;

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal($"the request has the key \"{key}\" twice; send each key once", reply.GetProperty("error").GetString());
        Assert.False(reloaded);
        Assert.Empty(_applied);
    }

    [Fact]
    public void A_request_that_is_not_utf8_is_refused_naming_the_byte_not_with_an_exception()
    {
        // Found by the mutation fuzz: a string with a stray byte passed the JSON reader and threw when it was decoded.
        byte[] request = [.. "{\"action\":\"st"u8, 0x80, .. "atus\"}"u8];

        var reply = JsonDocument.Parse(Handler().Handle(request)).RootElement;

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal("request is not UTF-8 text: byte 14 (0x80) is not valid UTF-8; send JSON in UTF-8", reply.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("""{"action":"\ud800"}""", 12, @"\ud800")]
    [InlineData("""{"action":"trigger","schedule":"a\udc00b"}""", 34, @"\udc00")]
    [InlineData("""{"\ud800":"status"}""", 3, @"\ud800")]
    [InlineData("""{"action":"status","x":["\ud83d\ude00","\\\udbff"]}""", 43, @"\udbff")]
    [InlineData("{\"action\":\"pause\",\n \"schedule\":\"é\\ud83d\"}", 15, @"\ud83d")]
    public void A_request_with_half_a_surrogate_pair_is_refused_naming_the_escape_not_as_an_internal_error(
        string request, int column, string escape)
    {
        // Valid JSON, but no string can hold it: reading the action or a name threw, answered as our fault.
        var reply = JsonDocument.Parse(Handler().Handle(Request(request))).RootElement;

        Assert.False(reply.GetProperty("ok").GetBoolean());
        int line = request.Contains('\n', StringComparison.Ordinal) ? 2 : 1;
        Assert.Equal(
            $"request is not valid text at line {line}, column {column} ({escape} is half of a UTF-16 surrogate pair, without the "
            + "other half; write a character beyond U+FFFF as both halves, or as UTF-8); send e.g. {\"action\": \"status\"}",
            reply.GetProperty("error").GetString());
        Assert.Empty(_applied);
    }

    [Fact]
    public void A_whole_surrogate_pair_escaped_is_read_as_its_character()
    {
        string error = JsonDocument.Parse(Handler().Handle(Request("""{"action":"trigger","schedule":"\ud83d\ude00"}""")))
            .RootElement.GetProperty("error").GetString()!;

        Assert.StartsWith("no schedule is named \"\U0001F600\"", error, StringComparison.Ordinal);
    }
}
