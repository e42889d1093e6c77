using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests;

/// <summary>The offline commands of the published binary: what a user sees for good and bad input.</summary>
public sealed class CliFacts
{
    [Fact]
    public async Task Version_prints_the_version()
    {
        var (code, output, _) = await Loomsched.ExecAsync("--version");
        Assert.Equal(0, code);
        Assert.StartsWith("loomsched ", output);
    }

    [Fact]
    public async Task Validate_accepts_the_shipped_configs()
    {
        var (code, output, _) = await Loomsched.ExecAsync("validate", Repo.Config("loom.example.yaml"), Repo.Config("scheduler.example.yaml"));
        Assert.True(code == 0, output);
        Assert.Contains("loom.example.yaml: valid, 2 schedule(s)", output);
    }

    [Fact]
    public async Task Validate_of_a_broken_config_exits_2_naming_file_line_and_key_without_a_stack_trace()
    {
        var config = TempConfig.Write("""
            name: broken
            schedules:
              - name: a
                interval_seconds: true
                task: {worker_type: w}
              - name: b
                cron: "61 * * * *"
                goal: {instruction: x}
            """);
        var (code, output, error) = await Loomsched.ExecAsync("validate", config);
        Assert.Equal(2, code);
        Assert.Contains("scheduler.yaml:4:23: schedules[0].interval_seconds:", output);
        Assert.Contains("scheduler.yaml:7:11: schedules[1].cron:", output);
        Assert.Contains("invalid, 2 error(s)", output);
        Assert.DoesNotContain("   at ", output + error);
    }

    [Fact]
    public async Task Validate_accepts_a_cron_that_never_fires_with_a_note_saying_so()
    {
        var config = TempConfig.Write("""
            name: leap
            schedules:
              - name: thirtieth_of_february
                cron: "0 0 30 2 *"
                task: {worker_type: w}
            """);
        var (code, output, _) = await Loomsched.ExecAsync("validate", config);
        Assert.True(code == 0, output);
        Assert.Contains(
            "scheduler.yaml:4:11: schedules[0].cron: \"0 0 30 2 *\" never fires: no date matches its day-of-month, month and day-of-week fields together; the schedule loads (as in Loom) but sends nothing (note)",
            output);
        Assert.Contains("valid, 1 schedule(s)", output);
    }

    [Fact]
    public async Task Validate_refuses_reboot_saying_a_scheduler_has_no_boot()
    {
        var config = TempConfig.Write("""
            name: boot
            schedules:
              - name: at_boot
                cron: "@reboot"
                task: {worker_type: w}
            """);
        var (code, output, _) = await Loomsched.ExecAsync("validate", config);
        Assert.Equal(2, code);
        Assert.Contains("scheduler.yaml:4:11: schedules[0].cron: \"@reboot\" is not supported: it means once at boot, and a scheduler has no boot to fire at;", output);
    }

    [Fact]
    public async Task Run_with_an_invalid_config_exits_2_before_connecting()
    {
        var config = TempConfig.Write("name: x\nschedules: 5\n");
        var (code, _, error) = await Loomsched.ExecAsync("run", "--config", config, "--nats-url", "nats://127.0.0.1:1");
        Assert.Equal(2, code);
        Assert.Contains("schedules", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("run")]
    [InlineData("run", "--config")]
    [InlineData("run", "--config", "x.yaml", "--colour", "red")]
    [InlineData("next")]
    [InlineData("next", "x.yaml", "--count", "zero")]
    [InlineData("status")]
    [InlineData("trigger", "--name", "s")]
    [InlineData("run", "--config", "x.yaml", "--nats-url", "http://example")]
    public async Task Usage_mistakes_exit_2_with_one_line(params string[] args)
    {
        var (code, output, error) = await Loomsched.ExecAsync(args);
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("loomsched: ", error);
    }

    [Fact]
    public async Task Next_lists_upcoming_slots_in_the_entry_zone()
    {
        var config = TempConfig.Write("""
            name: z
            schedules:
              - name: berlin_nine
                cron: "0 9 * * *"
                time_zone: Europe/Berlin
                goal: {instruction: x}
            """);
        var (code, output, _) = await Loomsched.ExecAsync("next", config, "--count", "3");
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("berlin_nine  (cron \"0 9 * * *\" (Europe/Berlin))", lines[0]);
        Assert.Equal(3, lines.Skip(1).Count());
        Assert.All(lines.Skip(1), l => Assert.Matches(@"^  \d{4}-\d\d-\d\dT09:00:00\+0[12]:00  \d{4}-\d\d-\d\dT0[78]:00:00Z$", l));
    }
}
