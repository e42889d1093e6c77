using System.Globalization;
using System.Text;
using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace LoomSched.EndToEnd.Tests;

/// <summary>
/// Schedules made at run time, on the published binary and a JetStream nats-server: through the CLI's
/// <c>schedule</c> verbs, and written straight into the bucket as <c>nats kv put</c> would.
/// </summary>
[Collection("nats")]
public sealed class RuntimeScheduleFacts(NatsFixture nats)
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    private static string Config(string prefix, string bucket, string control) => TempConfig.Write($"""
        name: rt
        subject_prefix: {prefix}
        runtime_schedules: {"{"}bucket: {bucket}{"}"}
        {control}
        schedules:
          - name: filed
            cron: "@daily"
            goal: {"{"}instruction: report{"}"}
        """);

    private const string Writers = "control: {actions: [status, get, list, create, update, delete]}";

    private Task<(int Code, string Out, string Err)> Cli(string prefix, params string[] args) =>
        Loomsched.ExecAsync(["schedule", .. args, "--name", "rt", "--subject-prefix", prefix, "--nats-url", nats.Server.Url]);

    private static DateTimeOffset Slot(Received m) =>
        DateTimeOffset.Parse(m.Header("Loom-Scheduled-For")!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static string EntryFile(string text)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("loomsched-entry-").FullName, "entry.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task A_created_schedule_fires_survives_a_restart_and_a_reload_changes_cadence_on_update_and_stops_on_delete()
    {
        var prefix = TempConfig.UniqueName("rt");
        string config = Config(prefix, $"{prefix}_s", Writers);
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        var daemon = Loomsched.Run(config, nats.Server.Url);
        try
        {
            await daemon.WaitForLogAsync("runtime schedules: loaded bucket");

            var created = await Cli(prefix, "create", EntryFile("name: tick\ninterval_seconds: 0.5\ntask: {worker_type: rt_probe}\n"));
            Assert.True(created.Code == 0, created.Out + created.Err);
            Assert.Contains("created schedule \\\"tick\\\"", created.Out, StringComparison.Ordinal);
            await seen.WaitForAsync(2, TimeSpan.FromSeconds(5));

            var (stopped, _) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(0, stopped);
            await daemon.DisposeAsync();
            int before = seen.Messages.Count;
            daemon = Loomsched.Run(config, nats.Server.Url);
            await daemon.WaitForLogAsync($"runtime schedules: loaded bucket {prefix}_s: 1 schedule(s), 0 not loaded");
            await seen.WaitForAsync(before + 2, TimeSpan.FromSeconds(5));

            // A SIGHUP re-reads the file; the bucket's schedule stays.
            daemon.Signal(Signals.SIGHUP);
            await daemon.WaitForLogAsync("reloaded");
            before = seen.Messages.Count;
            await seen.WaitForAsync(before + 2, TimeSpan.FromSeconds(5));

            var updated = await Cli(prefix, "update", EntryFile("""{"name": "tick", "interval_seconds": 0.2, "task": {"worker_type": "rt_probe"}}"""));
            Assert.True(updated.Code == 0, updated.Out + updated.Err);
            var updatedAt = DateTimeOffset.UtcNow;
            var after = await seen.WaitForAsync(4, TimeSpan.FromSeconds(5), m => m.At > updatedAt.AddMilliseconds(100));
            var slots = after.Select(Slot).ToList();
            Assert.All(slots.Zip(slots.Skip(1)), p => Assert.Equal(TimeSpan.FromMilliseconds(200), p.Second - p.First));

            var deleted = await Cli(prefix, "delete", "tick");
            Assert.True(deleted.Code == 0, deleted.Out + deleted.Err);
            var deletedAt = DateTimeOffset.UtcNow;
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.DoesNotContain(seen.Messages, m => Slot(m) > deletedAt.AddMilliseconds(50));

            var list = await Cli(prefix, "list");
            Assert.Equal(0, list.Code);
            Assert.DoesNotContain("tick", list.Out, StringComparison.Ordinal);
        }
        finally
        {
            await daemon.DisposeAsync();
        }
    }

    /// <summary>A daemon on a bucket of its own, its content loaded, and the bucket, to put values into by hand.</summary>
    private async Task<(string Prefix, Loomsched Daemon, INatsKVStore Kv)> DaemonOnABucketOfItsOwnAsync(string tag)
    {
        var prefix = TempConfig.UniqueName(tag);
        var daemon = Loomsched.Run(Config(prefix, $"{prefix}_s", ""), nats.Server.Url);
        try
        {
            await daemon.WaitForLogAsync("runtime schedules: loaded bucket");
            return (prefix, daemon, await new NatsKVContext(new NatsJSContext(nats.Client)).GetStoreAsync($"{prefix}_s"));
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task A_value_put_into_the_bucket_by_hand_runs_an_invalid_one_is_reported_and_a_delete_stops_it()
    {
        var (prefix, daemon, kv) = await DaemonOnABucketOfItsOwnAsync("rk");
        await using var _ = daemon;
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");

        await kv.PutAsync("by=2Ehand", Encoding.UTF8.GetBytes("""{"name": "by.hand", "interval_seconds": 0.3, "task": {"worker_type": "rt_probe"}}"""), Raw);
        await kv.PutAsync("broken", Encoding.UTF8.GetBytes("""{"name": "broken", "interval_seconds": "soon", "task": {"worker_type": "rt_probe"}}"""), Raw);

        await seen.WaitForAsync(2, TimeSpan.FromSeconds(5), m => m.Header("Loom-Schedule") == "by.hand");
        await daemon.WaitForLogAsync("runtime schedule broken not loaded: invalid (1 error(s)): interval_seconds: ");
        var status = await Loomsched.ExecAsync("status", "--name", "rt", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
        var runtime = JsonDocument.Parse(status.Out).RootElement.GetProperty("runtime_schedules");
        Assert.Equal(1, runtime.GetProperty("schedules").GetInt32());
        var invalid = Assert.Single(runtime.GetProperty("invalid").EnumerateArray());
        Assert.Equal("broken", invalid.GetProperty("name").GetString());
        Assert.StartsWith("invalid (1 error(s)): interval_seconds: ", invalid.GetProperty("error").GetString(), StringComparison.Ordinal);

        await kv.DeleteAsync("by=2Ehand");
        await daemon.WaitForLogAsync("runtime schedule by.hand deleted");
        var deletedAt = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(seen.Messages, m => m.Header("Loom-Schedule") == "by.hand" && Slot(m) > deletedAt);
    }

    [Fact]
    public async Task A_value_with_a_jenkins_hash_in_its_cron_is_reported_and_the_values_after_it_still_load()
    {
        var (prefix, daemon, kv) = await DaemonOnABucketOfItsOwnAsync("rj");
        await using var _ = daemon;
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");

        // Cronos threw at H: the watch of the bucket ended without a word, and no later value loaded.
        await kv.PutAsync("hashed", Encoding.UTF8.GetBytes("""{"name": "hashed", "cron": "H 2 * * *", "task": {"worker_type": "rt_probe"}}"""), Raw);
        await kv.PutAsync("after", Encoding.UTF8.GetBytes("""{"name": "after", "interval_seconds": 0.3, "task": {"worker_type": "rt_probe"}}"""), Raw);

        await daemon.WaitForLogAsync("runtime schedule hashed not loaded: invalid (1 error(s)): cron: \"H 2 * * *\" uses H, a hashed value");
        await seen.WaitForAsync(2, TimeSpan.FromSeconds(5), m => m.Header("Loom-Schedule") == "after");
    }

    [Fact]
    public async Task Status_still_answers_with_many_huge_invalid_values_in_the_bucket_each_said_in_a_short_line()
    {
        var (prefix, daemon, kv) = await DaemonOnABucketOfItsOwnAsync("rh");
        await using var _ = daemon;

        // Each just under the 64 KiB an entry may have; whole in their errors, 25 of them were a status of 1.5 MB.
        string huge = "0." + new string('9', 60_000);
        for (int i = 0; i < 25; i++)
        {
            await kv.PutAsync($"big{i}", Encoding.UTF8.GetBytes($$$"""{"name": "big{{{i}}}", "interval_seconds": "{{{huge}}}x", "task": {"worker_type": "w"}}"""), Raw);
        }
        await daemon.WaitForLogAsync("runtime schedule big24 not loaded: invalid (1 error(s)): interval_seconds: ");

        var status = await Loomsched.ExecAsync("status", "--name", "rt", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
        Assert.True(status.Code == 0, status.Err + status.Out[..Math.Min(status.Out.Length, 500)]);
        var invalid = JsonDocument.Parse(status.Out).RootElement.GetProperty("runtime_schedules").GetProperty("invalid").EnumerateArray().ToList();
        Assert.Equal(25, invalid.Count);
        Assert.All(invalid, e => Assert.Contains("characters left out", e.GetProperty("error").GetString(), StringComparison.Ordinal));
        Assert.All(invalid, e => Assert.InRange(e.GetProperty("error").GetString()!.Length, 1, 1000));
        Assert.All(daemon.Stderr, line => Assert.InRange(line.Length, 0, 2000));
    }

    [Fact]
    public async Task Status_lists_the_first_hundred_values_not_loaded_and_counts_them_all()
    {
        var (prefix, daemon, kv) = await DaemonOnABucketOfItsOwnAsync("rc");
        await using var _ = daemon;

        // Four values of 600 characters, each quoted in its error: a reason of about 1.4 KB, and 900 of them were a
        // status over the 1 MB a NATS message may have.
        string z = new('z', 600);
        for (int i = 0; i < 900; i++)
        {
            await kv.PutAsync($"bad{i}", Encoding.UTF8.GetBytes(
                $$$"""{"name": "bad{{{i}}}", "interval_seconds": "{{{z}}}", "dispatch_type": "{{{z}}}", "enabled": "{{{z}}}", "task": {"worker_type": "w", "priority": "{{{z}}}"}}"""), Raw);
        }
        await daemon.WaitForLogAsync("runtime schedule bad899 not loaded: invalid (4 error(s)): ");

        var status = await Loomsched.ExecAsync("status", "--name", "rt", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
        Assert.True(status.Code == 0, status.Err + status.Out[..Math.Min(status.Out.Length, 500)]);
        var runtime = JsonDocument.Parse(status.Out).RootElement.GetProperty("runtime_schedules");
        Assert.Equal(900, runtime.GetProperty("invalid_count").GetInt32());
        var listed = runtime.GetProperty("invalid").EnumerateArray().ToList();
        Assert.Equal(100, listed.Count);
        Assert.Equal("bad0", listed[0].GetProperty("name").GetString());
        Assert.All(listed, e => Assert.StartsWith("invalid (4 error(s)): ", e.GetProperty("error").GetString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Writes_are_refused_unless_control_actions_lists_them_and_file_schedules_are_read_only()
    {
        var prefix = TempConfig.UniqueName("rr");
        await using var daemon = Loomsched.Run(Config(prefix, $"{prefix}_s", ""), nats.Server.Url);
        await daemon.WaitForLogAsync("runtime schedules: loaded bucket");

        var created = await Cli(prefix, "create", EntryFile("name: tick\ninterval_seconds: 1\ntask: {worker_type: w}\n"));
        var list = await Cli(prefix, "list");
        var get = await Cli(prefix, "get", "filed");

        Assert.Equal(1, created.Code);
        Assert.Contains("create, update and delete are off unless listed there", created.Out, StringComparison.Ordinal);
        Assert.Equal(0, list.Code);
        Assert.Contains("\"source\": \"file\"", list.Out, StringComparison.Ordinal);
        Assert.Equal(0, get.Code);

        var prefix2 = TempConfig.UniqueName("rw");
        await using var writer = Loomsched.Run(Config(prefix2, $"{prefix2}_s", Writers), nats.Server.Url);
        await writer.WaitForLogAsync("runtime schedules: loaded bucket");
        var deleted = await Cli(prefix2, "delete", "filed");
        var invalid = await Cli(prefix2, "create", EntryFile("name: bad\ncron: \"61 * * * *\"\ngoal: {instruction: x}\n"));

        Assert.Equal(1, deleted.Code);
        Assert.Contains("read-only", deleted.Out, StringComparison.Ordinal);
        Assert.Equal(1, invalid.Code);
        Assert.Contains("cron: \\\"61 * * * *\\\" is not a valid cron expression: minute 61 is out of range", invalid.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_bucket_is_watched_by_one_consumer_not_a_new_one_after_another()
    {
        var prefix = TempConfig.UniqueName("re");
        await using var daemon = Loomsched.Run(Config(prefix, $"{prefix}_s", ""), nats.Server.Url);
        await daemon.WaitForLogAsync("runtime schedules: loaded bucket");
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        var stream = await new NatsJSContext(nats.Client).GetStreamAsync($"KV_{prefix}_s");

        Assert.Equal(1, stream.Info.State.ConsumerCount);
    }

    [Fact]
    public async Task A_body_that_is_not_yaml_is_a_usage_error_before_anything_is_sent()
    {
        var (code, _, err) = await Cli("loom", "create", EntryFile("name: [unclosed\n"));

        Assert.Equal(2, code);
        Assert.StartsWith("loomsched: error: schedule create: ", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }
}
