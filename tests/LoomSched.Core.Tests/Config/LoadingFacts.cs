using System.Diagnostics;
using System.Text;
using LoomSched.Config;
using LoomSched.Tests.Support;

namespace LoomSched.Core.Tests.Config;

/// <summary>Reading the file: size, encoding, documents, hostile YAML, and that nothing throws.</summary>
public sealed class LoadingFacts : IDisposable
{
    private const string Valid = "name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    task: {worker_type: w}\n";

    private readonly string _dir = Directory.CreateTempSubdirectory("loomsched-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void A_fifo_nobody_writes_to_fails_the_load_after_ten_seconds_instead_of_hanging()
    {
        string path = Path.Combine(_dir, "scheduler.yaml");
        using (var mkfifo = Process.Start("mkfifo", path))
        {
            mkfifo.WaitForExit();
        }
        var watch = Stopwatch.StartNew();

        var result = ConfigLoader.LoadFile(path);

        Assert.InRange(watch.Elapsed.TotalSeconds, 9.5, 60);
        Assert.Equal("the config file could not be read within 10 s: is it a FIFO or a device waiting for input, or on a file system that does not answer?",
            Assert.Single(result.Errors).Message);
        // Lets the abandoned read end: it gets the writer it waited for, and the end of the file. Shared, as the
        // reader's open is: File.OpenWrite's exclusive lock could meet it.
        using (new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
        }
    }

    [Fact]
    public async Task A_fifo_config_loaded_five_times_holds_one_reading_thread()
    {
        string path = Path.Combine(_dir, "scheduler.yaml");
        Fifos.Make(path);

        // The first load's read waits for a writer; four more loads come meanwhile, and each waits for that read.
        var loads = new List<Task<ConfigLoadResult>> { Load() };
        Assert.Equal(1, await Fifos.ThreadsSettleAsync("config read", 1));
        loads.AddRange(Enumerable.Range(0, 4).Select(_ => Load()));
        foreach (var result in await Task.WhenAll(loads))
        {
            Assert.StartsWith("the config file could not be read within 10 s", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
        }
        Assert.Equal(1, await Fifos.ThreadsSettleAsync("config read", 1));

        // A writer comes: the one read ends, and none of the loads that gave up starts another.
        await Fifos.WriteAsync(path, []);
        Assert.Equal(0, await Fifos.ThreadsSettleAsync("config read", 0));

        Task<ConfigLoadResult> Load() => Task.Factory.StartNew(() => ConfigLoader.LoadFile(path), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    [Fact]
    public void An_entry_the_reader_fails_on_is_refused_at_its_place_and_the_other_entries_are_still_checked()
    {
        var result = ConfigLoader.LoadText(
            "name: t\nschedules:\n  - {name: a, interval_seconds: 5, expand_from: f, task: {worker_type: w}}\n  - {name: b, interval_seconds: 0, task: {worker_type: w}}\n",
            "t.yaml", new BrokenRegistry());

        Assert.Equal(2, result.Errors.Count);
        Assert.Equal((3, 5), (result.Errors[0].Location.Line, result.Errors[0].Location.Column));
        Assert.Equal("schedules[0]", result.Errors[0].Path);
        Assert.Equal("could not be read: InvalidOperationException: the registry broke (a fault of loomsched: please report it with this entry)", result.Errors[0].Message);
        Assert.Equal("schedules[1].interval_seconds", result.Errors[1].Path);
    }

    /// <summary>A registry with a fault of its own: it throws where it is asked for a function.</summary>
    private sealed class BrokenRegistry : LoomSched.Expansion.IExpansionRegistry
    {
        public IReadOnlyCollection<string> Names => ["f"];

        public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LoomSched.Expansion.ExpansionFunction? function) =>
            throw new InvalidOperationException("the registry broke");
    }

    [Fact]
    public void A_diagnostic_quoting_a_huge_value_or_key_shows_its_start_and_end_in_a_line_of_bounded_length()
    {
        string value = "0." + new string('9', 60_000);
        string key = string.Concat(Enumerable.Repeat("interval_seconds", 60)); // YAML takes a plain key of up to 1,024 characters
        var result = ConfigLoader.LoadText(
            $"name: t\ncoordination:\n  {key}: 1\nschedules:\n  - name: a\n    interval_seconds: \"{value}x\"\n    task: {{worker_type: w}}\n", "t.yaml");

        Assert.Equal(2, result.Errors.Count);
        Assert.All(result.Errors, e => Assert.InRange(e.Path.Length + e.Message.Length, 1, 2 * 450));
        var interval = Assert.Single(result.Errors, e => e.Path == "schedules[0].interval_seconds");
        Assert.StartsWith("must be a number greater than 0 (seconds), got \"0.999", interval.Message, StringComparison.Ordinal);
        Assert.Contains("characters left out) … 999", interval.Message, StringComparison.Ordinal);
        Assert.EndsWith("999x\"", interval.Message, StringComparison.Ordinal);
        Assert.Contains(result.Errors, e => e.Path.StartsWith("coordination.interval_secondsinterval_seconds", StringComparison.Ordinal)
            && e.Path.Contains("characters left out", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_file_is_an_error_naming_the_file()
    {
        string path = Path.Combine(_dir, "nope.yaml");

        var error = Assert.Single(ConfigLoader.LoadFile(path).Errors);

        Assert.Equal(path, error.Location.ToString());
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "the path is empty; name the config file")]
    [InlineData("long", "the path is too long for the file system; check the path")]
    public void A_path_that_names_no_file_is_an_error_in_plain_words(string path, string message)
    {
        // Found by probing the published binary: these were the runtime's resource keys (Argument_EmptyString, IO_PathTooLong_Path).
        if (path == "long")
        {
            path = Path.Combine(_dir, new string('a', 5000) + ".yaml");
        }

        var error = Assert.Single(ConfigLoader.LoadFile(path).Errors);

        Assert.Equal(message, error.Message);
        Assert.Equal(0, error.Location.Line);
    }

    [Fact]
    public void Directory_instead_of_a_file_is_an_error()
    {
        Assert.Contains("directory", Assert.Single(ConfigLoader.LoadFile(_dir).Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversize_single_line_file_is_refused_fast_with_its_size_and_the_limit()
    {
        byte[] bytes = new byte[10 * 1000 * 1000];
        Array.Fill(bytes, (byte)'a');
        string path = Write("big.yaml", bytes);

        var clock = Stopwatch.StartNew();
        var result = ConfigLoader.LoadFile(path);
        clock.Stop();

        var error = Assert.Single(result.Errors);
        Assert.Equal("the file is 10,000,000 bytes, over the limit of 8,388,608 bytes (8 MiB); a scheduler config should be far smaller", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Oversize_text_is_refused_too()
    {
        var error = Assert.Single(ConfigLoader.LoadText(new string('a', ConfigLoader.MaxFileBytes + 1), "t.yaml").Errors);

        Assert.Contains("over the limit of 8,388,608 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_UTF8_is_reported_at_its_line_column_and_byte_offset()
    {
        byte[] bytes = [.. Encoding.UTF8.GetBytes("name: t\nschedules: []\n# café "), 0xC3, 0x28, (byte)'\n'];
        string path = Write("latin.yaml", bytes);

        var error = Assert.Single(ConfigLoader.LoadFile(path).Errors);

        Assert.Equal((3, 8), (error.Location.Line, error.Location.Column));
        Assert.Equal("the file is not valid UTF-8: byte 0xC3 at offset 30 cannot start or continue a character; save the file as UTF-8", error.Message);
    }

    [Fact]
    public void UTF8_byte_order_mark_is_accepted_and_UTF16_is_refused()
    {
        Assert.True(ConfigLoader.LoadFile(Write("bom.yaml", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Valid)])).Success);

        var error = Assert.Single(ConfigLoader.LoadFile(Write("utf16.yaml", [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(Valid)])).Errors);
        Assert.Contains("UTF-16", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_character_is_refused_at_its_position_as_PyYAML_refuses_it()
    {
        var error = Assert.Single(ConfigLoader.LoadText("name: t\nschedules: [] \u0001\n", "t.yaml").Errors);

        Assert.Equal((2, 15), (error.Location.Line, error.Location.Column));
        Assert.Contains("U+0001", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_text_is_the_empty_file_error()
    {
        foreach (string text in new[] { "", "   \n", "# nothing\n", "---\n", "~\n" })
        {
            var error = Assert.Single(ConfigLoader.LoadText(text, "t.yaml").Errors);
            Assert.Equal("the file is empty; expected a map with name and schedules", error.Message);
        }
    }

    [Fact]
    public void Config_with_many_errors_reports_every_one_in_file_order()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "configs", "invalid", "many-errors.yaml");

        var result = ConfigLoader.LoadFile(path);

        Assert.Equal(8, result.Errors.Count);
        Assert.Equal(
            result.Errors.OrderBy(e => e.Location.Line).ThenBy(e => e.Location.Column),
            result.Errors);
        Assert.Equal(
            ["name", "time_zone", "schedules[0].cron", "schedules[0].task.model_tier",
             "schedules[1].interval_seconds", "schedules[1].goal.instruction", "schedules[1].goal.priority",
             "schedules[2].cron"],
            result.Errors.Select(e => e.Path));
        // Loom fires both entries of one name and ignores an unknown key in an entry: notes.
        Assert.Equal(["schedules[1].name", "schedules[2].interva_seconds"], result.Notes.Select(n => n.Path));
    }

    [Fact]
    public void Diagnostic_reads_as_file_line_column_path_and_message()
    {
        var result = ConfigLoader.LoadText("name: t\nschedules:\n  - name: a\n    interval_seconds: false\n    task: {worker_type: w}\n", "cfg.yaml");

        Assert.Equal(
            "cfg.yaml:4:23: schedules[0].interval_seconds: must be a number greater than 0 (seconds), got \"false\"",
            Assert.Single(result.Errors).ToString());
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    public void A_word_that_dotnet_reads_as_a_number_is_no_number_of_seconds_and_gets_no_exponent_hint(string word)
    {
        var result = ConfigLoader.LoadText($"name: t\nschedules:\n  - name: a\n    interval_seconds: {word}\n    task: {{worker_type: w}}\n", "cfg.yaml");

        Assert.Equal($"must be a number greater than 0 (seconds), got \"{word}\"", Assert.Single(result.Errors).Message);
    }

    [Theory]
    [InlineData("1e3", "an exponent needs a point and a sign, as in 1.0e+3); write it as a plain number")]
    [InlineData("09", "a leading 0 makes an octal number, which has no digit 8 or 9); write 9")]
    [InlineData("-0080", "a leading 0 makes an octal number, which has no digit 8 or 9); write -80")]
    public void A_numeral_yaml_reads_as_text_is_refused_saying_why(string numeral, string why)
    {
        var result = ConfigLoader.LoadText($"name: t\nschedules:\n  - name: a\n    interval_seconds: {numeral}\n    task: {{worker_type: w}}\n", "cfg.yaml");

        Assert.Equal($"must be a number greater than 0 (seconds), got \"{numeral}\", which YAML 1.1 reads as text ({why}",
            Assert.Single(result.Errors).Message);
    }

    [Fact]
    public void A_cron_no_date_matches_loads_with_a_note_that_it_never_fires()
    {
        var result = ConfigLoader.LoadText("name: t\nschedules:\n  - name: a\n    cron: \"0 0 30 2 *\"\n    task: {worker_type: w}\n", "t.yaml");

        Assert.True(result.Success);
        var note = Assert.Single(result.Notes);
        Assert.Equal(
            "t.yaml:4:11: schedules[0].cron: \"0 0 30 2 *\" never fires: no date matches its day-of-month, month and day-of-week fields together; the schedule loads (as in Loom) but sends nothing",
            note.ToString());
    }

    [Fact]
    public void Empty_schedule_list_loads_with_a_note()
    {
        var result = ConfigLoader.LoadText("name: t\nschedules: []\n", "t.yaml");

        Assert.True(result.Success);
        Assert.Empty(result.Config!.Schedules);
        Assert.Equal("no schedules: the daemon will only answer control requests", Assert.Single(result.Notes).Message);
    }

    [Fact]
    public void Aliases_and_merge_keys_share_definitions_between_entries()
    {
        const string yaml = """
            name: t
            schedules:
              - name: a
                interval_seconds: 60
                task: &base {worker_type: w, payload: {tier: 1}, priority: high}
              - name: b
                interval_seconds: 60
                task:
                  <<: *base
                  priority: low
              - name: c
                interval_seconds: 60
                task: *base
            """;

        var result = ConfigLoader.LoadText(yaml, "t.yaml");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        var tasks = result.Config!.Schedules.Select(s => Assert.IsType<TaskTemplate>(s.Template)).ToList();
        Assert.Equal([Priority.High, Priority.Low, Priority.High], tasks.Select(t => t.Priority));
        Assert.All(tasks, t => Assert.Equal(("w", 1L), (t.WorkerType, t.Payload["tier"])));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("[trigger, pause]")]
    public void Control_actions_without_status_load_with_a_note_that_health_checks_get_no_answer(string actions)
    {
        var result = ConfigLoader.LoadText($"name: t\ncontrol: {{actions: {actions}}}\nschedules:\n  - {{name: a, interval_seconds: 60, goal: {{instruction: x}}}}\n", "t.yaml");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        var note = Assert.Single(result.Notes);
        Assert.Equal("control.actions", note.Path);
        Assert.StartsWith("has no status: `loomsched status`, the image's health check", note.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(200, true)]
    [InlineData(201, false)]
    public void A_schedule_name_is_measured_in_characters_not_utf16_units(int rockets, bool loads)
    {
        string name = string.Concat(Enumerable.Repeat("\U0001F680", rockets));

        var result = ConfigLoader.LoadText($"name: t\nschedules:\n  - {{name: \"{name}\", interval_seconds: 60, goal: {{instruction: x}}}}\n", "t.yaml");

        Assert.Equal(loads, result.Success);
        if (!loads)
        {
            Assert.Contains("is 201 characters long; a schedule name may have at most 200", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Top_level_options_are_read()
    {
        const string yaml = """
            name: t
            subject_prefix: site1.heddle
            time_zone: Europe/Berlin
            control: {actions: [status, pause]}
            max_pending: 0
            publish: jetstream
            coordination: {mode: leader, lease_bucket: lease_b, lease_ttl_seconds: 7.5}
            catch_up: {policy: all, window_seconds: 600}
            schedules:
              - name: a
                cron: "0 8 * * *"
                task: {worker_type: w}
            """;

        var config = ConfigLoader.LoadText(yaml, "t.yaml").Config!;

        Assert.Equal("site1.heddle.goals.incoming", config.GoalSubject);
        Assert.Equal("Europe/Berlin", config.TimeZone.Id);
        Assert.Equal("Europe/Berlin", config.Schedules[0].TimeZone.Id);
        Assert.Equal(ControlActions.Status | ControlActions.Pause, config.AllowedControl);
        Assert.Equal(0, config.MaxPending);
        Assert.Equal(PublishMode.JetStream, config.Publish);
        Assert.Equal(new CoordinationOptions(CoordinationMode.Leader, "lease_b", "loomsched_state", 7.5), config.Coordination);
        Assert.Equal(new CatchUpOptions(CatchUpPolicy.All, 600), config.CatchUp);
        Assert.Null(config.Schedules[0].CatchUp);
    }

    [Theory]
    [InlineData("0.001", 10_000L)]
    [InlineData("3155760000", 31_557_600_000_000_000L)]
    public void Interval_at_either_bound_loads(string seconds, long ticks)
    {
        var result = ConfigLoader.LoadText($"name: t\nschedules:\n  - {{name: a, interval_seconds: {seconds}, task: {{worker_type: w}}}}\n", "t.yaml");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal(TimeSpan.FromTicks(ticks), result.Config!.Schedules[0].Interval);
    }

    [Theory]
    [InlineData("[[[[")]
    [InlineData("{a: [}")]
    [InlineData("a: &x\n  - *x\n")]
    [InlineData("? - a\n  - b\n: c\n")]
    [InlineData("name: t\nschedules:\n  - {name: a, interval_seconds: 1e400, task: {worker_type: w}}\n")]
    [InlineData("name: t\nschedules:\n  - {name: a, interval_seconds: 0.00000001, task: {worker_type: w}}\n")]
    [InlineData("name: t\nschedules:\n  - {name: a, interval_seconds: 1e+300, task: {worker_type: w}}\n")]
    [InlineData("\"unterminated\n")]
    [InlineData("a: !!set {x}\n")]
    [InlineData("!!map\n- a\n")]
    public void Hostile_or_broken_text_gives_errors_never_an_exception(string yaml)
    {
        var result = ConfigLoader.LoadText(yaml, "t.yaml");

        Assert.False(result.Success);
        Assert.NotEmpty(result.Errors);
    }

    [Fact]
    public void Deep_nesting_stops_at_the_limit_without_exhausting_the_stack()
    {
        string yaml = "name: t\nx: " + new string('[', 100_000) + new string(']', 100_000) + "\n";

        var error = Assert.Single(ConfigLoader.LoadText(yaml, "t.yaml").Errors);

        Assert.Contains("deeper than 64 levels", error.Message, StringComparison.Ordinal);
    }
}
