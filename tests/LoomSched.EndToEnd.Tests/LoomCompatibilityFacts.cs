using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests;

/// <summary>
/// Loom's configs through the published binary: every file of tests/configs/loom is valid or refused by
/// <c>validate</c> as its header says, and <c>--strict</c> (validate and run) makes its notes errors.
/// </summary>
[Collection("nats")]
public sealed class LoomCompatibilityFacts(NatsFixture nats)
{
    public static TheoryData<string> CorpusFiles() =>
    [
        .. Directory.EnumerateFiles(Repo.TestConfig("loom"), "*.yaml").Order(StringComparer.Ordinal).Select(f => Path.GetFileName(f)),
    ];

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public async Task Validate_accepts_or_refuses_each_Loom_config_as_its_header_says_and_strict_refuses_its_notes(string file)
    {
        string path = Repo.TestConfig($"loom/{file}");
        var header = File.ReadLines(path).TakeWhile(l => l.StartsWith('#')).ToList();
        bool loads = header.Single(l => l.StartsWith("# loomsched: ", StringComparison.Ordinal)).StartsWith("# loomsched: loads", StringComparison.Ordinal);
        bool noted = header.Any(l => l.StartsWith("# note: ", StringComparison.Ordinal));

        var (code, output, error) = await Loomsched.ExecAsync("validate", path);
        var (strictCode, strictOutput, _) = await Loomsched.ExecAsync("validate", "--strict", path);

        Assert.True(code == (loads ? 0 : 2), output + error);
        Assert.Equal(loads && !noted ? 0 : 2, strictCode);
        if (loads && noted)
        {
            Assert.Contains("(a note; an error under --strict)", strictOutput);
            Assert.Contains(": invalid, ", strictOutput);
        }
        Assert.DoesNotContain("   at ", output + error);
    }

    [Fact]
    public async Task Run_strict_refuses_to_start_on_a_config_with_notes_and_says_why()
    {
        var config = TempConfig.Write("""
            name: strictly
            schedules:
              - name: a
                interval_seconds: 60
                owner: team-a
                task: {worker_type: w}
            """);

        var (code, output, error) = await Loomsched.ExecAsync("run", "--config", config, "--strict", "--nats-url", nats.Server.Url);

        Assert.Equal(2, code);
        Assert.Contains("scheduler.yaml:5:5: error: schedules[0].owner: unknown key \"owner\"", output + error);
        Assert.Contains("(a note; an error under --strict)", output + error);
    }

    [Fact]
    public async Task Two_schedules_of_one_name_both_fire_each_slot_the_second_as_name_hash_2_in_status_and_headers()
    {
        // Loom fires every entry of its list, whatever the names; loomsched too, the second under a name of its own.
        var prefix = TempConfig.UniqueName("twins");
        var config = TempConfig.Write($$"""
            name: twins
            subject_prefix: {{prefix}}
            schedules:
              - name: x
                interval_seconds: 1
                task: {worker_type: w}
              - name: x
                interval_seconds: 1
                task: {worker_type: w}
            """);
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.>");
        await using var daemon = Loomsched.Run(config, nats.Server.Url);

        var twins = await seen.WaitForAsync(4, TimeSpan.FromSeconds(20));
        var (first, second) = (twins.First(m => m.Header("Loom-Schedule") == "x"), twins.First(m => m.Header("Loom-Schedule") == "x#2"));
        var (code, output, error) = await Loomsched.ExecAsync(
            "status", "--name", "twins", "--subject-prefix", prefix, "--nats-url", nats.Server.Url, "--format", "json");

        // The message is Loom's: scheduled_by is the name as written; the twin is told apart by its headers.
        Assert.Equal("x", second.Body.GetProperty("metadata").GetProperty("scheduled_by").GetString());
        Assert.Equal(first.Header("Loom-Scheduled-For"), second.Header("Loom-Scheduled-For"));
        Assert.Equal($"twins/x#2/{second.Header("Loom-Scheduled-For")}/0", second.Header("Nats-Msg-Id"));
        Assert.NotEqual(first.Header("Nats-Msg-Id"), second.Header("Nats-Msg-Id"));
        Assert.True(code == 0, output + error);
        Assert.Contains("x#2", output);
        Assert.Contains(daemon.Stderr, l => l.Contains("duplicate schedule name \"x\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_daemon_whose_name_has_dots_answers_control_requests_on_its_deeper_subject()
    {
        var prefix = TempConfig.UniqueName("dotted");
        var config = TempConfig.Write($$"""
            name: site.nightly
            subject_prefix: {{prefix}}
            schedules:
              - name: a
                interval_seconds: 3600
                task: {worker_type: w}
            """);
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");

        var (code, output, error) = await Loomsched.ExecAsync(
            "status", "--name", "site.nightly", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);

        Assert.True(code == 0, output + error);
        Assert.Contains("site.nightly", output);
    }
}
