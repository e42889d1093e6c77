using LoomSched.Config;

namespace LoomSched.Core.Tests.Config;

/// <summary>
/// A Loom config as a drop-in: what Loom ignores loads with a note, <c>--strict</c> makes notes errors, and
/// <c>cron_seconds</c> settles which field of a six-field cron is the second. (tests/configs/loom has one file per
/// case of Loom's own tests and examples.)
/// </summary>
public sealed class LoomCompatibilityFacts
{
    private static readonly DateTimeOffset From = DateTimeOffset.Parse("2026-11-27T00:00:00Z");

    private static ConfigLoadResult Load(string yaml) => ConfigLoader.LoadText(yaml, "t.yaml");

    private static DateTimeOffset? FirstSlot(ConfigLoadResult result) =>
        Assert.Single(result.Config!.Schedules).Trigger.NextAfter(From, From);

    // --- --strict ---

    [Fact]
    public void Strict_makes_every_note_an_error_at_the_same_place()
    {
        var result = Load("name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    enabled: false\n    task: {worker_type: w}\n");
        Assert.True(result.Success);
        var note = Assert.Single(result.Notes);

        var strict = result.Strict();

        Assert.False(strict.Success);
        Assert.Null(strict.Config);
        var error = Assert.Single(strict.Errors);
        Assert.Equal((note.Location, note.Path), (error.Location, error.Path));
        Assert.Equal(note.Message + " (a note; an error under --strict)", error.Message);
    }

    [Fact]
    public void Strict_keeps_the_errors_in_file_order_among_the_notes()
    {
        var result = Load("name: t\ncolour: red\nschedules:\n  - name: a\n    interval_seconds: -1\n    task: {worker_type: w}\n");

        Assert.Equal(["colour", "schedules[0].interval_seconds"], result.Strict().Errors.Select(e => e.Path));
    }

    [Fact]
    public void A_config_without_notes_is_the_same_under_strict()
    {
        var result = Load("name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    task: {worker_type: w}\n");

        Assert.Same(result, result.Strict());
    }

    // --- what Loom ignores ---

    [Theory]
    [InlineData("true", "write {policy: once} (the latest) or {policy: all}")]
    [InlineData("once", "did you mean {policy: once}?")]
    [InlineData("false", "that is the default, so remove it")]
    public void Catch_up_that_is_not_a_map_is_ignored_as_Loom_ignores_it_with_a_note_saying_how_to_ask_for_catch_up(string value, string advice)
    {
        var result = Load($"name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    catch_up: {value}\n    task: {{worker_type: w}}\n");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        var schedule = Assert.Single(result.Config!.Schedules);
        Assert.Null(schedule.CatchUp);
        Assert.Equal(CatchUpPolicy.Skip, result.Config.CatchUp.Policy);
        var note = Assert.Single(result.Notes);
        Assert.Equal(("schedules[0].catch_up", 5, 15), (note.Path, note.Location.Line, note.Location.Column));
        Assert.Contains("ignored, as Loom ignores catch_up, so missed slots are skipped", note.Message, StringComparison.Ordinal);
        Assert.EndsWith(advice, note.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Catch_up_that_is_not_a_map_at_the_top_level_is_ignored_too()
    {
        var result = Load("name: t\ncatch_up: yes\nschedules: []\n");

        Assert.True(result.Success);
        Assert.Equal(CatchUpOptions.Default, result.Config!.CatchUp);
        Assert.Contains(result.Notes, n => n.Path == "catch_up");
    }

    [Fact]
    public void An_unknown_key_in_a_loomsched_only_section_stays_an_error()
    {
        // Loom never reads coordination:, but a misspelt key there would change what loomsched does.
        var result = Load("name: t\ncoordination: {mod: leader}\nschedules: []\n");

        Assert.Contains("did you mean \"mode\"", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1", "the number 1")]
    [InlineData("yes", "the boolean true")]
    [InlineData("~", "null")]
    [InlineData("2.5", "the number 2.5")]
    public void A_number_boolean_or_null_as_a_key_of_an_entry_is_ignored_as_Loom_ignores_it_with_a_note(string key, string typed)
    {
        var result = Load($"name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    {key}: x\n    task: {{worker_type: w}}\n");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        var note = Assert.Single(result.Notes);
        Assert.Equal(($"schedules[0].{key}", 5, 5), (note.Path, note.Location.Line, note.Location.Column));
        Assert.StartsWith($"key {key} is {typed} to PyYAML, not a name: ignored as Loom ignores it", note.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_map_as_a_key_stays_an_error_as_PyYAML_cannot_build_it()
    {
        var result = Load("name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    ? {k: v}\n    : x\n    task: {worker_type: w}\n");

        Assert.False(result.Success);
    }

    [Theory]
    [InlineData("goal: {instruction: go, context: {1: x}}", "goal.context.1", "key 1 is the number 1 to PyYAML, and Loom's goal takes only text keys in context")]
    [InlineData("goal: {instruction: go, context: {yes: x}}", "goal.context.yes", "key yes is the boolean true to PyYAML")]
    [InlineData("task: {worker_type: w, payload: {~: x}}", "task.payload.~", "key ~ is null to PyYAML, and Loom's task takes only text keys in payload (its input)")]
    [InlineData("task: {worker_type: w, payload: {2024-01-01: x}}", "task.payload.2024-01-01", "key 2024-01-01 is a date to PyYAML")]
    public void A_key_of_context_or_payload_that_PyYAML_makes_no_text_is_refused_as_every_fire_fails_in_Loom(string section, string path, string message)
    {
        var result = Load($"name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    {section}\n");

        var error = Assert.Single(result.Errors);
        Assert.Equal("schedules[0]." + path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.EndsWith("so each of its fires would fail; quote the key: \"" + path[(path.LastIndexOf('.') + 1)..] + "\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_quoted_number_as_a_key_of_context_is_text_and_loads()
    {
        var result = Load("name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    goal: {instruction: go, context: {\"1\": x}}\n");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal("x", Assert.IsType<GoalTemplate>(result.Config!.Schedules[0].Template).Context["1"]);
    }

    // --- dispatch_type ---

    [Theory]
    [InlineData("dispatch_type: goal\n    goal: {instruction: go}\n    task: {worker_type: w}", "goal")]
    [InlineData("dispatch_type: task\n    goal: {instruction: go}\n    task: {worker_type: w}", "task")]
    [InlineData("goal: {instruction: go}", "goal")]
    [InlineData("task: {worker_type: w}", "task")]
    public void The_section_dispatch_type_names_or_the_only_one_given_is_the_schedules_template(string sections, string kind)
    {
        var result = Load($"name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    {sections}\n");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        var template = Assert.Single(result.Config!.Schedules).Template;
        if (kind == "goal")
        {
            Assert.Equal("go", Assert.IsType<GoalTemplate>(template).Instruction);
        }
        else
        {
            Assert.Equal("w", Assert.IsType<TaskTemplate>(template).WorkerType);
        }
    }

    // --- interval_seconds: true ---

    [Theory]
    [InlineData("true")]
    [InlineData("yes")]
    [InlineData("On")]
    public void Interval_true_loads_as_one_second_as_Loom_counts_it_with_a_note(string value)
    {
        var result = Load($"name: t\nschedules:\n  - name: a\n    interval_seconds: {value}\n    task: {{worker_type: w}}\n");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal(TimeSpan.FromSeconds(1), Assert.Single(result.Config!.Schedules).Interval);
        var note = Assert.Single(result.Notes);
        Assert.Equal(("schedules[0].interval_seconds", 4, 23), (note.Path, note.Location.Line, note.Location.Column));
        Assert.Equal($"\"{value}\" is the boolean true, which Loom (Python) counts as 1: the schedule fires every second, as in Loom; write 1", note.Message);
    }

    [Fact]
    public void Interval_false_stays_an_error_as_Loom_refuses_it_too()
    {
        var result = Load("name: t\nschedules:\n  - name: a\n    interval_seconds: false\n    task: {worker_type: w}\n");

        Assert.Equal("schedules[0].interval_seconds", Assert.Single(result.Errors).Path);
    }

    // --- a blank worker_type ---

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"  \"")]
    public void A_blank_worker_type_loads_as_written_with_a_note_that_no_worker_takes_the_task(string value)
    {
        var result = Load($"name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    task: {{worker_type: {value}}}\n");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal(value.Trim('"'), Assert.IsType<TaskTemplate>(Assert.Single(result.Config!.Schedules).Template).WorkerType);
        var note = Assert.Single(result.Notes);
        Assert.Equal("schedules[0].task.worker_type", note.Path);
        Assert.StartsWith("is blank: the task names no worker, so none takes it", note.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_worker_type_that_is_not_text_stays_an_error()
    {
        var result = Load("name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    task: {worker_type: 123}\n");

        Assert.Contains("which YAML reads as a number", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    // --- duplicate schedule names ---

    [Fact]
    public void Two_entries_of_one_name_both_load_and_the_second_is_named_with_a_hash_and_its_count()
    {
        var result = Load("name: t\nschedules:\n  - name: x\n    interval_seconds: 1\n    task: {worker_type: w}\n  - name: x\n    interval_seconds: 2\n    task: {worker_type: w}\n  - name: x\n    interval_seconds: 3\n    task: {worker_type: w}\n");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal(["x", "x#2", "x#3"], result.Config!.Schedules.Select(s => s.Name));
        Assert.Equal([1, 2, 3], result.Config.Schedules.Select(s => s.Interval!.Value.TotalSeconds));
        Assert.Equal(
            [("schedules[1].name", 6, "duplicate schedule name \"x\" (the first is at line 3): both fire, as in Loom; this one is \"x#2\""),
             ("schedules[2].name", 9, "duplicate schedule name \"x\" (the first is at line 3): both fire, as in Loom; this one is \"x#3\"")],
            result.Notes.Select(n => (n.Path, n.Location.Line, n.Message[..n.Message.IndexOf(" in status", StringComparison.Ordinal)])));
    }

    [Fact]
    public void A_later_entry_of_a_name_skips_a_name_that_another_entry_gives()
    {
        var result = Load("name: t\nschedules:\n  - name: x\n    interval_seconds: 1\n    task: {worker_type: w}\n  - name: x\n    interval_seconds: 2\n    task: {worker_type: w}\n  - name: \"x#2\"\n    interval_seconds: 3\n    task: {worker_type: w}\n");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal(["x", "x#3", "x#2"], result.Config!.Schedules.Select(s => s.Name));
    }

    [Fact]
    public void A_duplicate_name_is_quoted_escaped_so_a_line_break_in_it_cannot_split_the_note()
    {
        var result = Load("name: t\nschedules:\n  - name: \"a\\nb\"\n    interval_seconds: 1\n    task: {worker_type: w}\n  - name: \"a\\nb\"\n    interval_seconds: 2\n    task: {worker_type: w}\n");

        var note = Assert.Single(result.Notes);
        Assert.StartsWith("duplicate schedule name \"a\\nb\"", note.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', note.Message);
        // The name itself stays an error: it travels in NATS headers.
        Assert.Equal(2, result.Errors.Count);
    }

    // --- six-field crons ---

    [Theory]
    [InlineData("first", "2026-11-27T00:00:30Z")] // second 30 of every minute
    [InlineData("last", "2026-11-27T00:30:00Z")]  // every second of minute 30 of every hour
    public void Cron_seconds_at_the_top_level_settles_an_expression_both_orders_read(string order, string firstSlot)
    {
        var result = Load($"name: t\ncron_seconds: {order}\nschedules:\n  - name: a\n    cron: \"30 * * * * *\"\n    task: {{worker_type: w}}\n");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Empty(result.Notes);
        Assert.Equal(DateTimeOffset.Parse(firstSlot), FirstSlot(result));
    }

    [Fact]
    public void Cron_seconds_on_an_entry_wins_over_the_top_level()
    {
        var result = Load("name: t\ncron_seconds: first\nschedules:\n  - name: a\n    cron: \"30 * * * * *\"\n    cron_seconds: last\n    task: {worker_type: w}\n");

        Assert.Equal(DateTimeOffset.Parse("2026-11-27T00:30:00Z"), FirstSlot(result));
    }

    [Fact]
    public void An_expression_both_orders_read_differently_is_an_error_naming_both_readings_and_the_key()
    {
        var result = Load("name: t\nschedules:\n  - name: a\n    cron: \"30 * * * * *\"\n    task: {worker_type: w}\n");

        var error = Assert.Single(result.Errors);
        Assert.Equal(("schedules[0].cron", 4, 11), (error.Path, error.Location.Line, error.Location.Column));
        Assert.Contains("seconds first (loomsched) it is second 30, minute *", error.Message, StringComparison.Ordinal);
        Assert.Contains("seconds last (Loom's croniter) it is minute 30, hour *", error.Message, StringComparison.Ordinal);
        Assert.Contains("cron_seconds: first or cron_seconds: last", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("* * * * * *")]
    [InlineData("@every_second")]
    [InlineData("@hourly")]
    [InlineData("0 * * * *")]
    public void An_expression_both_orders_read_alike_loads_without_a_note(string cron)
    {
        var result = Load($"name: t\nschedules:\n  - name: a\n    cron: \"{cron}\"\n    task: {{worker_type: w}}\n");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Empty(result.Notes);
    }

    [Fact]
    public void Cron_seconds_last_on_an_expression_that_order_cannot_read_is_an_error_saying_so()
    {
        var result = Load("name: t\nschedules:\n  - name: a\n    cron: \"45 0 0 * * *\"\n    cron_seconds: last\n    task: {worker_type: w}\n");

        Assert.Contains("read with seconds last (cron_seconds: last)", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }
}
