using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests;

/// <summary>
/// <c>validate --json</c>, <c>next --json</c> and <c>watch --json</c>: what a script reads instead of the text, parsed
/// here as a script would.
/// </summary>
[Collection("nats")]
public sealed class JsonOutputFacts(NatsFixture nats)
{
    [Fact]
    public async Task Validate_json_gives_each_file_its_verdict_and_every_diagnostic_with_severity_and_place()
    {
        string invalid = Repo.TestConfig("invalid/both-cron-and-interval.yaml");
        string noted = TempConfig.Write("""
            name: noted
            schedules:
              - name: never
                cron: "0 0 30 2 *"
                task: {worker_type: w}
            """);

        var (code, output, error) = await Loomsched.ExecAsync("validate", "--json", noted, invalid);

        Assert.Equal(2, code);
        Assert.Equal("", error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.False(root.GetProperty("valid").GetBoolean());
        var files = root.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(2, files.Count);

        Assert.Equal(noted, files[0].GetProperty("path").GetString());
        Assert.True(files[0].GetProperty("valid").GetBoolean());
        Assert.Equal(1, files[0].GetProperty("schedules").GetInt32());
        var note = Assert.Single(files[0].GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("note", note.GetProperty("severity").GetString());
        Assert.Equal((4, 11), (note.GetProperty("line").GetInt32(), note.GetProperty("column").GetInt32()));
        Assert.Equal("schedules[0].cron", note.GetProperty("key").GetString());
        Assert.StartsWith("\"0 0 30 2 *\" never fires", note.GetProperty("message").GetString(), StringComparison.Ordinal);

        Assert.False(files[1].GetProperty("valid").GetBoolean());
        Assert.Equal(1, files[1].GetProperty("errors").GetInt32());
        var wrong = Assert.Single(files[1].GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("error", wrong.GetProperty("severity").GetString());
        Assert.Equal(invalid, wrong.GetProperty("file").GetString());
        Assert.Equal((7, 5), (wrong.GetProperty("line").GetInt32(), wrong.GetProperty("column").GetInt32()));
        Assert.Equal("schedules[0].interval_seconds", wrong.GetProperty("key").GetString());
        Assert.Equal("a schedule has exactly one of cron, interval_seconds and at; keep one", wrong.GetProperty("message").GetString());

        (code, output, _) = await Loomsched.ExecAsync("validate", "--json", "--strict", noted);
        Assert.Equal(2, code);
        var strict = Assert.Single(JsonDocument.Parse(output).RootElement.GetProperty("files")[0].GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("error", strict.GetProperty("severity").GetString());
    }

    [Fact]
    public async Task Validate_text_says_error_or_note_on_every_diagnostic_as_compilers_do()
    {
        string invalid = Repo.TestConfig("invalid/both-cron-and-interval.yaml");

        var (code, output, _) = await Loomsched.ExecAsync("validate", invalid);

        Assert.Equal(2, code);
        Assert.Equal(
            $"{invalid}:7:5: error: schedules[0].interval_seconds: a schedule has exactly one of cron, interval_seconds and at; keep one\n" +
            $"{invalid}: invalid, 1 error(s)\n", output);
    }

    [Fact]
    public async Task Next_json_lists_each_schedules_slots_with_their_offset_and_whether_more_follow()
    {
        string config = TempConfig.Write("""
            name: upcoming
            schedules:
              - name: paris
                cron: "30 2 * * *"
                time_zone: Europe/Paris
                task: {worker_type: w}
              - name: leap
                cron: "0 0 29 2 *"
                task: {worker_type: w}
              - name: quick
                interval_seconds: 90
                task: {worker_type: w}
            """);

        var (code, output, error) = await Loomsched.ExecAsync("next", config, "--json", "--count", "2", "--from", "2027-03-27T12:00:00Z");

        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("2027-03-27T12:00:00Z", root.GetProperty("from").GetString());
        var schedules = root.GetProperty("schedules").EnumerateArray().ToList();
        Assert.Equal(["paris", "leap", "quick"], schedules.Select(s => s.GetProperty("name").GetString()));
        // 02:30 does not exist in Paris on 28 March 2027 (clocks go from 02:00 to 03:00): Cronos fires at 03:00.
        Assert.Equal(["2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00"],
            schedules[0].GetProperty("slots").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"],
            schedules[1].GetProperty("slots").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["2027-03-27T12:01:30+00:00", "2027-03-27T12:03:00+00:00"],
            schedules[2].GetProperty("slots").EnumerateArray().Select(s => s.GetString()));
        Assert.All(schedules, s => Assert.True(s.GetProperty("more").GetBoolean()));
        // Written for a terminal as well as for jq: an offset and a quote read as themselves.
        Assert.Contains("\"2027-03-28T03:00:00+02:00\"", output);
        Assert.Contains("\"trigger\": \"cron \\\"0 0 29 2 *\\\" (UTC)\"", output);
        Assert.DoesNotContain("\\u00", output);

        string never = TempConfig.Write("""
            name: never
            schedules:
              - name: feb30
                cron: "0 0 30 2 *"
                task: {worker_type: w}
            """);
        (code, output, error) = await Loomsched.ExecAsync("next", never, "--json");
        Assert.True(code == 0, error);
        var feb30 = Assert.Single(JsonDocument.Parse(output).RootElement.GetProperty("schedules").EnumerateArray());
        Assert.Empty(feb30.GetProperty("slots").EnumerateArray());
        Assert.False(feb30.GetProperty("more").GetBoolean());
        Assert.Contains(": note: schedules[0].cron: ", error); // the note goes to stderr; stdout stays JSON
    }

    [Fact]
    public async Task Next_json_on_an_invalid_config_prints_what_validate_json_prints_and_exits_2()
    {
        string invalid = Repo.TestConfig("invalid/both-cron-and-interval.yaml");

        var next = await Loomsched.ExecAsync("next", invalid, "--json");
        var validate = await Loomsched.ExecAsync("validate", invalid, "--json");

        Assert.Equal(2, next.Code);
        Assert.Equal("", next.Err);
        Assert.Equal(validate.Out, next.Out);
        var file = Assert.Single(JsonDocument.Parse(next.Out).RootElement.GetProperty("files").EnumerateArray());
        Assert.Equal("schedules[0].interval_seconds", file.GetProperty("diagnostics")[0].GetProperty("key").GetString());
    }

    [Fact]
    public async Task Watch_json_prints_one_json_line_per_message_with_its_headers_and_body()
    {
        await using var watch = Loomsched.Start("watch", "jw.>", "--json", "--nats-url", nats.Server.Url);
        await watch.WaitForLogAsync("watching jw.> on ");
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Stdout.Count < 2)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), watch.Log);
            var headers = new NATS.Client.Core.NatsHeaders { ["Loom-Schedule"] = "nightly" };
            await nats.Client.PublishAsync("jw.goal", """{"goal_id":"g-1","n":[1,2]}"""u8.ToArray(), headers: headers);
            await nats.Client.PublishAsync("jw.text", "not json {"u8.ToArray());
            await Task.Delay(200);
        }

        var goal = JsonDocument.Parse(watch.Stdout.First(l => l.Contains("\"jw.goal\"", StringComparison.Ordinal))).RootElement;
        Assert.Equal("nightly", goal.GetProperty("headers").GetProperty("Loom-Schedule").GetString());
        Assert.Equal("g-1", goal.GetProperty("data").GetProperty("goal_id").GetString());
        Assert.Equal(2, goal.GetProperty("data").GetProperty("n").GetArrayLength());
        Assert.EndsWith("Z", goal.GetProperty("received_at").GetString(), StringComparison.Ordinal);
        var text = JsonDocument.Parse(watch.Stdout.First(l => l.Contains("\"jw.text\"", StringComparison.Ordinal))).RootElement;
        Assert.Equal("not json {", text.GetProperty("text").GetString());
        Assert.False(text.TryGetProperty("data", out _));
    }

    [Fact]
    public async Task Watch_json_escapes_direction_marks_in_names_and_subjects()
    {
        string config = TempConfig.Write("""
            name: bidi_watch
            subject_prefix: jb
            schedules:
              - name: "abc\u202Edef"
                interval_seconds: 0.2
                task: {worker_type: w}
            """);
        // A publisher that writes subjects and headers as UTF-8, as nats-py and nats.go do.
        await using var client = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with
        {
            Url = nats.Server.Url,
            SubjectEncoding = System.Text.Encoding.UTF8,
            HeaderEncoding = System.Text.Encoding.UTF8,
        });
        await using var watch = Loomsched.Start("watch", "jb.>", "--json", "--nats-url", nats.Server.Url);
        await watch.WaitForLogAsync("watching jb.> on ");
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!watch.Stdout.Any(l => l.Contains("\"jb.tasks.incoming\"", StringComparison.Ordinal))
            || !watch.Stdout.Any(l => l.Contains("\"text\"", StringComparison.Ordinal))
            || !watch.Stdout.Any(l => l.Contains("\"jb.json\"", StringComparison.Ordinal)))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), watch.Log);
            await client.PublishAsync("jb.a\u202Eb", "plain \u202E text \u2066x\u2069"u8.ToArray());
            // JSON as someone else wrote it: indented over lines, a direction mark and a DEL raw inside its strings.
            await client.PublishAsync("jb.json", "{\n  \"k\": \"v\u200Fw\u007F\",\r\n  \"n\": [1, 2.50]\n}"u8.ToArray());
            await Task.Delay(200);
        }

        foreach (string line in watch.Stdout)
        {
            Assert.DoesNotContain(line, TextModeEscapes);
            Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(line).RootElement.ValueKind);
        }
        var fired = JsonDocument.Parse(watch.Stdout.First(l => l.Contains("\"jb.tasks.incoming\"", StringComparison.Ordinal))).RootElement;
        Assert.Equal("abc\u202Edef", fired.GetProperty("headers").GetProperty("Loom-Schedule").GetString());
        Assert.Equal("abc\u202Edef", fired.GetProperty("data").GetProperty("metadata").GetProperty("scheduled_by").GetString());
        string textLine = watch.Stdout.First(l => l.Contains("\"text\"", StringComparison.Ordinal));
        Assert.Contains(@"""subject"":""jb.a\u202Eb""", textLine, StringComparison.Ordinal);
        Assert.Contains(@"""text"":""plain \u202E text \u2066x\u2069""", textLine, StringComparison.Ordinal);
        var text = JsonDocument.Parse(textLine).RootElement;
        Assert.Equal("jb.a\u202Eb", text.GetProperty("subject").GetString());
        Assert.Equal("plain \u202E text \u2066x\u2069", text.GetProperty("text").GetString());
        // The publisher's JSON keeps its tokens as written (2.50 stays 2.50); only the line breaks and marks change.
        string jsonLine = watch.Stdout.First(l => l.Contains("\"jb.json\"", StringComparison.Ordinal));
        Assert.EndsWith(@"""data"":{   ""k"": ""v\u200Fw\u007F"",    ""n"": [1, 2.50] }}", jsonLine, StringComparison.Ordinal);
    }

    /// <summary>What text mode escapes: control characters, line separators and the marks that reorder a line.</summary>
    private static bool TextModeEscapes(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' or '\u200e' or '\u200f' or '\u061c' or >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069'
        || c is '\u200b' or '\ufeff';
}
