using LoomSched.Config;

namespace LoomSched.Tests.Config;

/// <summary>One schedule entry made at run time: read by the config file's own entry reader, in JSON or YAML.</summary>
public sealed class EntryLoaderFacts
{
    private static readonly SchedulerConfig Top = ConfigLoader.LoadText("name: t\nschedules: []\n", "t.yaml").Config!;

    private static ConfigDiagnostic FileError(string entryYaml)
    {
        var result = ConfigLoader.LoadText("name: t\nschedules:\n  - " + entryYaml.Replace("\n", "\n    ", StringComparison.Ordinal) + "\n", "t.yaml");
        return Assert.Single(result.Errors);
    }

    [Fact]
    public void A_json_entry_loads_as_the_same_entry_written_in_yaml_does()
    {
        var json = EntryLoader.Load(
            """{"name": "nightly", "cron": "0 2 * * *", "task": {"worker_type": "w", "payload": {"n": 3, "x": "3"}}}""", Top, null, "request");
        var yaml = ConfigLoader.LoadText(
            "name: t\nschedules:\n  - name: nightly\n    cron: \"0 2 * * *\"\n    task: {worker_type: w, payload: {n: 3, x: \"3\"}}\n", "t.yaml");

        Assert.True(json.Success, string.Join("; ", json.Errors));
        var expected = Assert.Single(yaml.Config!.Schedules);
        Assert.Equal(expected.Fingerprint, json.Definition!.Fingerprint);
        Assert.Equal(expected.Trigger.Describe(), json.Definition.Trigger.Describe());
    }

    [Fact]
    public void An_error_says_the_file_readers_message_at_the_key_path_instead_of_a_line()
    {
        var result = EntryLoader.Load("""{"name": "n", "cron": "61 * * * *", "goal": {"instruction": "x"}}""", Top, null, "request");
        var file = FileError("name: n\ncron: \"61 * * * *\"\ngoal: {instruction: x}");

        Assert.False(result.Success);
        Assert.Equal($"cron: {file.Message}", Assert.Single(result.Errors));
    }

    [Fact]
    public void A_missing_key_of_a_section_is_named_by_its_path_in_the_entry()
    {
        var result = EntryLoader.Load("""{"name": "n", "interval_seconds": 5, "task": {"payload": {}}}""", Top, null, "request");
        var file = FileError("name: n\ninterval_seconds: 5\ntask: {payload: {}}");

        Assert.Equal($"task.worker_type: {file.Message}", Assert.Single(result.Errors));
    }

    [Fact]
    public void An_unknown_key_which_a_file_only_notes_is_an_error_for_a_run_time_entry()
    {
        var result = EntryLoader.Load("""{"name": "n", "interval_seconds": 5, "goal": {"instruction": "x"}, "enabeld": false}""", Top, null, "request");

        string error = Assert.Single(result.Errors);
        Assert.StartsWith("enabeld: ", error, StringComparison.Ordinal);
        Assert.EndsWith("(a note in a config file; an error for a schedule made at run time)", error, StringComparison.Ordinal);
        Assert.Null(result.Definition);
    }

    [Theory]
    [InlineData("[1, 2]", "an entry must be a map (name, cron or interval_seconds, and goal or task), got a list")]
    [InlineData("  ", "the entry is empty; give a map with name, cron or interval_seconds, and goal or task")]
    [InlineData("---\n...\n", "line 1, column 1: the entry is empty; give a map with name, cron or interval_seconds, and goal or task")]
    [InlineData("null", "line 1, column 1: the entry is empty; give a map with name, cron or interval_seconds, and goal or task")]
    public void What_is_not_a_map_is_refused_in_one_sentence(string body, string expected)
    {
        Assert.Equal(expected, Assert.Single(EntryLoader.Load(body, Top, null, "request").Errors));
    }

    [Fact]
    public void Broken_json_is_refused_with_its_line_and_column()
    {
        string error = Assert.Single(EntryLoader.Load("""{"name": "n", "cron": "0 * * * *" """, Top, null, "request").Errors);

        Assert.StartsWith("line 1, column ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_entry_inherits_the_top_level_zone_as_the_files_entries_do()
    {
        var berlin = ConfigLoader.LoadText("name: t\ntime_zone: Europe/Berlin\nschedules: []\n", "t.yaml").Config!;

        var result = EntryLoader.Load("""{"name": "n", "cron": "0 9 * * *", "goal": {"instruction": "x"}}""", berlin, null, "request");

        Assert.Equal("Europe/Berlin", result.Definition!.TimeZone.Id);
    }

    [Fact]
    public void A_yaml_entry_turned_into_json_reads_back_as_the_same_entry()
    {
        const string yaml = """
            name: poll
            interval_seconds: 0.5
            task:
              worker_type: poller
              payload: {tiny: 1.0e-5, big: 1.5e+20, whole: 2.0, text: "30", flag: yes, list: [1, two, {deep: 3.0e-7}], none: ~}
            """;
        string json = EntryLoader.ToJson(yaml, out var errors)!;

        Assert.Empty(errors);
        var fromYaml = EntryLoader.Load(yaml, Top, null, "file");
        var fromJson = EntryLoader.Load(json, Top, null, "request");
        Assert.True(fromJson.Success, string.Join("; ", fromJson.Errors));
        Assert.Equal(fromYaml.Definition!.Fingerprint, fromJson.Definition!.Fingerprint);
    }
}
