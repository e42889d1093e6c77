using System.Text;
using System.Text.Json;
using LoomSched.Config;
using LoomSched.Control;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Control;

/// <summary>The control actions on schedules made at run time, over a bucket kept in memory.</summary>
public sealed class RuntimeScheduleFacts
{
    private const string Nightly = """{"name": "nightly", "cron": "0 2 * * *", "goal": {"instruction": "Summarize"}}""";

    private readonly MemoryBucket _bucket = new();
    private readonly SchedulerEngine _engine;
    private readonly RuntimeScheduleSet _set;
    private readonly ControlHandler _handler;
    private readonly SchedulerConfig _file;

    public RuntimeScheduleFacts() : this(ControlActions.All | ControlActions.Create | ControlActions.Update | ControlActions.Delete)
    {
    }

    private RuntimeScheduleFacts(ControlActions allowed)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-27T02:59:30Z"));
        _file = ConfigLoader.LoadText(
            $"name: t\nruntime_schedules: {{bucket: b}}\ncontrol: {{actions: [{Words(allowed)}]}}\nschedules:\n  - {{name: filed, interval_seconds: 60, goal: {{instruction: x}}}}\n",
            "t.yaml").Config!;
        _engine = new SchedulerEngine(_file, new RecordingPort(clock), clock, new EngineOptions());
        _set = new RuntimeScheduleSet(_engine, _file, null, _bucket);
        _handler = new ControlHandler(_engine, () => throw new InvalidOperationException("no reload here"), "test") { Runtime = _set };
    }

    private static string Words(ControlActions allowed) => string.Join(", ",
        new[] { "status", "trigger", "pause", "resume", "reload", "create", "update", "delete", "get", "list" }
            .Where((_, i) => (allowed & (ControlActions)(1 << i)) != 0));

    private JsonElement Send(string request) => JsonDocument.Parse(_handler.Handle(Encoding.UTF8.GetBytes(request))).RootElement;

    private static string Create(string entry) => $$"""{"action":"create","schedule":{{entry}}}""";

    private static string Update(string entry) => $$"""{"action":"update","schedule":{{entry}}}""";

    private string[] Running() => [.. _engine.Status().Schedules.Select(s => $"{s.Name} {s.Trigger}")];

    [Fact]
    public void A_created_schedule_runs_beside_the_files_and_is_kept_in_the_bucket_under_its_name()
    {
        var reply = Send(Create(Nightly));

        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        Assert.Equal(["filed", "nightly"], _engine.Status().Schedules.Select(s => s.Name));
        Assert.Equal(Nightly, Encoding.UTF8.GetString(_bucket.Values["nightly"]));
    }

    [Fact]
    public void An_update_changes_the_cadence_and_a_delete_stops_the_schedule()
    {
        Send(Create(Nightly));
        var updated = Send(Update("""{"name": "nightly", "interval_seconds": 30, "goal": {"instruction": "Summarize"}}"""));
        string after = Running()[1];
        var deleted = Send("""{"action":"delete","schedule":"nightly"}""");

        Assert.True(updated.GetProperty("ok").GetBoolean(), updated.ToString());
        Assert.Contains("30", after, StringComparison.Ordinal);
        Assert.True(deleted.GetProperty("ok").GetBoolean(), deleted.ToString());
        Assert.Equal(["filed"], _engine.Status().Schedules.Select(s => s.Name));
        Assert.Empty(_bucket.Values);
    }

    [Fact]
    public void An_invalid_entry_is_refused_with_the_messages_validate_gives()
    {
        var reply = Send(Create("""{"name": "n", "cron": "61 * * * *", "goal": {"instruction": "x"}}"""));
        var expected = EntryLoader.Load("""{"name": "n", "cron": "61 * * * *", "goal": {"instruction": "x"}}""", _file, null, "x").Errors;

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(expected, reply.GetProperty("errors").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains(expected[0], reply.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(_bucket.Values);
    }

    [Fact]
    public void An_entry_of_hundreds_of_errors_is_refused_with_the_first_twenty_and_how_many_more()
    {
        string keys = string.Join(", ", Enumerable.Range(0, 500).Select(i => $"\"extra{i}\": {i}"));

        var reply = Send(Create($$"""{"name": "many", "interval_seconds": 1, "goal": {"instruction": "x"}, {{keys}}}"""));

        var errors = reply.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal(21, errors.Count);
        Assert.StartsWith("extra0: unknown key", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("extra19: unknown key", errors[19], StringComparison.Ordinal);
        Assert.Equal("and 480 more", errors[20]);
    }

    [Theory]
    [InlineData("""{"action":"update","schedule":{"name": "filed", "interval_seconds": 5, "goal": {"instruction": "x"}}}""", "read-only")]
    [InlineData("""{"action":"delete","schedule":"filed"}""", "read-only")]
    [InlineData("""{"action":"create","schedule":{"name": "filed", "interval_seconds": 5, "goal": {"instruction": "x"}}}""", "may not be both")]
    public void A_file_schedule_cannot_be_changed_or_taken_at_run_time(string request, string says)
    {
        var reply = Send(request);

        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Contains(says, reply.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_second_create_of_a_name_is_refused_pointing_to_update()
    {
        Send(Create(Nightly));

        var reply = Send(Create(Nightly));

        Assert.Equal("a run-time schedule named \"nightly\" exists; use update to change it", reply.GetProperty("error").GetString());
    }

    [Fact]
    public void An_update_or_delete_of_an_unknown_name_is_refused()
    {
        Assert.StartsWith("no run-time schedule is named \"nightly\"", Send(Update(Nightly)).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("no run-time schedule is named \"x\"", Send("""{"action":"delete","schedule":"x"}""").GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Get_gives_the_stored_entry_and_list_gives_every_schedule_with_its_source()
    {
        Send(Create(Nightly));

        var got = Send("""{"action":"get","schedule":"nightly"}""");
        var list = Send("""{"action":"list"}""").GetProperty("schedules").EnumerateArray()
            .Select(s => $"{s.GetProperty("name").GetString()} {s.GetProperty("source").GetString()}");

        Assert.Equal("runtime", got.GetProperty("source").GetString());
        Assert.Equal("0 2 * * *", got.GetProperty("schedule").GetProperty("cron").GetString());
        Assert.Equal(["filed file", "nightly runtime"], list);
    }

    [Fact]
    public void A_value_written_by_hand_that_is_invalid_is_listed_with_why_and_not_run()
    {
        string? told = null;
        var set = new RuntimeScheduleSet(_engine, _file, null, _bucket) { Rejected = (name, why) => told = $"{name}: {why}" };

        set.ApplyAll([("bad", """{"name": "bad", "interval_seconds": "soon", "goal": {"instruction": "x"}}""", 3)]);

        var entry = Assert.Single(set.Entries);
        Assert.StartsWith("invalid (1 error(s)): interval_seconds: ", entry.Error, StringComparison.Ordinal);
        Assert.Equal($"bad: {entry.Error}", told);
        Assert.Equal(["filed"], _engine.Status().Schedules.Select(s => s.Name));
    }

    [Fact]
    public void A_value_with_many_errors_is_listed_with_its_first_three_and_how_many_more()
    {
        var set = new RuntimeScheduleSet(_engine, _file, null, _bucket);
        string keys = string.Join(", ", Enumerable.Range(0, 500).Select(i => $"\"extra{i}\": {i}"));

        set.ApplyAll([("many", $$"""{"name": "many", "interval_seconds": 1, "goal": {"instruction": "x"}, {{keys}}}""", 3)]);

        var entry = Assert.Single(set.Entries);
        Assert.StartsWith("invalid (500 error(s)): extra0: unknown key", entry.Error, StringComparison.Ordinal);
        Assert.EndsWith("; and 497 more", entry.Error, StringComparison.Ordinal);
        Assert.Equal(3, entry.Error!.Split("unknown key").Length - 1);
    }

    [Fact]
    public void A_value_whose_key_is_not_its_name_is_not_run()
    {
        _set.ApplyAll([("other", Nightly, 1)]);

        Assert.Contains("its key says \"other\" but its entry's name is \"nightly\"", Assert.Single(_set.Entries).Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("d.e", "d=2Ee")]
    [InlineData("a=ZZ", "a=3DZZ")]
    [InlineData("café", "caf=C3=A9")]
    public void A_value_under_a_key_that_is_not_its_escaped_name_is_not_run_and_says_the_key_to_use(string key, string escaped)
    {
        _set.ApplyAll([(key, $$$"""{"name": "{{{key}}}", "interval_seconds": 60, "goal": {"instruction": "x"}}""", 1)]);

        var entry = Assert.Single(_set.Entries);
        Assert.Equal($"its key \"{key}\" is not the escaped name; the value of \"{key}\" goes under the key \"{escaped}\"", entry.Error);
        Assert.Equal(["filed"], _engine.Status().Schedules.Select(s => s.Name));
    }

    [Fact]
    public async Task Of_two_keys_of_one_name_the_escaped_one_runs_the_other_is_listed_and_a_delete_of_the_name_removes_both()
    {
        string Entry(int seconds) => $$$"""{"name": "d.e", "interval_seconds": {{{seconds}}}, "goal": {"instruction": "x"}}""";
        var byHand = await _bucket.PutAsync("d.e", Encoding.UTF8.GetBytes(Entry(3600)), default);
        var escaped = await _bucket.PutAsync("d=2Ee", Encoding.UTF8.GetBytes(Entry(7200)), default);
        _set.ApplyAll([("d.e", Entry(3600), byHand.Revision), ("d=2Ee", Entry(7200), escaped.Revision)]);
        string[] running = Running();
        string[] listed = [.. _set.Entries.Select(e => $"{e.Key} {(e.Error is null ? "loaded" : "not loaded")}")];

        var deleted = Send("""{"action":"delete","schedule":"d.e"}""");

        Assert.Equal(["filed every 60 s", "d.e every 7200 s"], running);
        Assert.Equal(["d.e not loaded", "d=2Ee loaded"], listed);
        Assert.True(deleted.GetProperty("ok").GetBoolean(), deleted.ToString());
        Assert.Equal(["filed"], _engine.Status().Schedules.Select(s => s.Name));
        Assert.Empty(_bucket.Values); // nothing left for a restart to load
        Assert.Empty(_set.Entries);
    }

    [Fact]
    public void A_delete_from_the_bucket_removes_the_schedule_and_an_older_revision_is_ignored()
    {
        _set.Apply("nightly", Nightly, 5);
        _set.Apply("nightly", """{"name": "nightly", "interval_seconds": 9, "goal": {"instruction": "x"}}""", 4);
        string kept = Running()[1];
        _set.Apply("nightly", null, 6);

        Assert.Contains("0 2 * * *", kept, StringComparison.Ordinal);
        Assert.Equal(["filed"], _engine.Status().Schedules.Select(s => s.Name));
    }

    [Fact]
    public void A_value_that_changes_after_the_load_changes_its_schedule_alone_which_comes_after_the_others()
    {
        _set.ApplyAll([("nightly", Nightly, 1), ("zulu", """{"name": "zulu", "interval_seconds": 9, "goal": {"instruction": "x"}}""", 2)]);
        var before = _engine.Status().Schedules.Single(s => s.Name == "zulu");

        _set.Apply("alpha", """{"name": "alpha", "interval_seconds": 5, "goal": {"instruction": "x"}}""", 3);
        _set.Apply("nightly", """{"name": "nightly", "interval_seconds": 30, "goal": {"instruction": "x"}}""", 4);

        Assert.Equal(["filed", "nightly", "zulu", "alpha"], _engine.Status().Schedules.Select(s => s.Name));
        Assert.Equal(["filed", "nightly", "zulu", "alpha"], _engine.Config.Schedules.Select(s => s.Name));
        Assert.Contains("30", Running()[1], StringComparison.Ordinal);
        Assert.Equal(before.NextFire, _engine.Status().Schedules.Single(s => s.Name == "zulu").NextFire);
    }

    [Fact]
    public void A_value_made_invalid_stops_its_schedule_and_a_valid_one_again_starts_it()
    {
        _set.Apply("nightly", Nightly, 1);
        _set.Apply("nightly", """{"name": "nightly", "interval_seconds": "soon", "goal": {"instruction": "x"}}""", 2);
        string[] invalid = Running();
        _set.Apply("nightly", Nightly, 3);

        Assert.Equal(["filed every 60 s"], invalid);
        Assert.Equal(["filed", "nightly"], _engine.Status().Schedules.Select(s => s.Name));
        Assert.Null(Assert.Single(_set.Entries).Error);
    }

    [Fact]
    public void A_value_under_a_file_schedules_name_put_and_deleted_leaves_the_file_schedule_running()
    {
        _set.Apply("filed", """{"name": "filed", "interval_seconds": 5, "goal": {"instruction": "x"}}""", 1);
        string[] put = Running();
        _set.Apply("filed", null, 2);

        Assert.Equal(["filed every 60 s"], put);
        Assert.Equal(["filed every 60 s"], Running());
        Assert.Empty(_set.Entries);
    }

    [Fact]
    public void A_value_put_by_hand_under_an_unescaped_key_is_deleted_under_that_key()
    {
        _bucket.Values["by.hand"] = Encoding.UTF8.GetBytes("""{"name": "by.hand", "interval_seconds": 9, "goal": {"instruction": "x"}}""");
        _set.ApplyAll([("by.hand", Encoding.UTF8.GetString(_bucket.Values["by.hand"]), 1)]);

        var reply = Send("""{"action":"delete","schedule":"by.hand"}""");

        Assert.True(reply.GetProperty("ok").GetBoolean(), reply.ToString());
        Assert.Empty(_bucket.Values);
    }

    [Fact]
    public void A_reload_of_the_file_keeps_the_run_time_schedules()
    {
        Send(Create(Nightly));
        var reloaded = ConfigLoader.LoadText(
            "name: t\nruntime_schedules: {bucket: b}\nschedules:\n  - {name: other, interval_seconds: 60, goal: {instruction: x}}\n", "t.yaml").Config!;

        _set.ApplyFile(reloaded);

        Assert.Equal(["other", "nightly"], _engine.Status().Schedules.Select(s => s.Name));
    }

    [Fact]
    public void Create_update_and_delete_are_refused_unless_control_actions_lists_them()
    {
        var facts = new RuntimeScheduleFacts(ControlActions.All);

        var reply = facts.Send(Create(Nightly));

        Assert.Equal(
            "action \"create\" is not allowed by this scheduler's control.actions (create, update and delete are off unless listed there)",
            reply.GetProperty("error").GetString());
        Assert.True(facts.Send("""{"action":"list"}""").GetProperty("ok").GetBoolean());
        Assert.Empty(facts._bucket.Values);
    }

    [Fact]
    public void Without_runtime_schedules_the_actions_say_the_feature_is_off()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-27T02:59:30Z"));
        var engine = new SchedulerEngine(TestSchedules.Config(TestSchedules.Interval("a", 1)), new RecordingPort(clock), clock, new EngineOptions());
        var handler = new ControlHandler(engine, () => throw new InvalidOperationException(), "test");

        var reply = JsonDocument.Parse(handler.Handle("""{"action":"list"}"""u8)).RootElement;

        Assert.StartsWith("this scheduler keeps no run-time schedules", reply.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nightly", "nightly")]
    [InlineData("nightly.report", "nightly=2Ereport")]
    [InlineData("a=b/c", "a=3Db=2Fc")]
    [InlineData("café", "caf=C3=A9")]
    public void A_name_is_kept_under_a_key_the_bucket_can_hold_and_read_back(string name, string key)
    {
        Assert.Equal(key, RuntimeScheduleSet.KeyOf(name));
        Assert.Equal(name, RuntimeScheduleSet.NameOfKey(key));
    }

    private sealed class MemoryBucket : IScheduleBucket
    {
        private ulong _revision;

        public Dictionary<string, byte[]> Values { get; } = new(StringComparer.Ordinal);

        public ValueTask<BucketWrite> CreateAsync(string key, byte[] value, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Values.TryAdd(key, value) ? BucketWrite.Stored(++_revision) : BucketWrite.Failed("exists"));

        public ValueTask<BucketWrite> PutAsync(string key, byte[] value, CancellationToken cancellationToken)
        {
            Values[key] = value;
            return ValueTask.FromResult(BucketWrite.Stored(++_revision));
        }

        public ValueTask<BucketWrite> DeleteAsync(string key, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Values.Remove(key) ? BucketWrite.Stored(++_revision) : BucketWrite.Failed("no such key"));
    }
}
