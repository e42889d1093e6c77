using System.Diagnostics;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests;

/// <summary>
/// The files named on the command line (a schedule entry, a creds, nkey or certificate file) are read with a bound on
/// their size and on the wait: a device, a directory or a FIFO without a writer is one line and exit 2, not a process
/// that fills the memory, dies with a stack trace or never ends.
/// </summary>
public sealed class CliFileArgumentFacts
{
    // Nothing listens there: every refusal below comes before a connection is tried.
    private const string Nowhere = "nats://127.0.0.1:1";

    private static string Folder() => Directory.CreateTempSubdirectory("loomsched-files-").FullName;

    private static string Fifo()
    {
        string path = Path.Combine(Folder(), "no-writer.fifo");
        var made = Process.Start("mkfifo", [path]);
        made.WaitForExit();
        Assert.Equal(0, made.ExitCode);
        return path;
    }

    private static async Task AssertRefusedAsync(string[] args, string message, TimeSpan within)
    {
        var took = Stopwatch.StartNew();
        var (code, output, error) = await Loomsched.ExecAsync(args);
        Assert.True(took.Elapsed < within, $"took {took.Elapsed}");
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal($"loomsched: error: {message}\n", error);
    }

    [Theory]
    [InlineData("create")]
    [InlineData("update")]
    public async Task A_schedule_file_over_the_entry_limit_is_refused_in_the_words_stdin_gets(string verb)
    {
        string big = Path.Combine(Folder(), "big.yaml");
        await File.WriteAllTextAsync(big, "name: big\ncron: \"@daily\"\ngoal: {instruction: " + new string('x', 65_536) + "}\n");
        foreach (string path in (string[])[big, "/dev/zero"])
        {
            await AssertRefusedAsync(["schedule", verb, path, "--name", "rt", "--nats-url", Nowhere],
                $"schedule {verb}: {path}: the entry is over 65,536 bytes; a schedule entry should be far smaller", TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task A_schedule_file_that_is_a_fifo_without_a_writer_is_refused_after_the_configs_wait()
    {
        string fifo = Fifo();
        await AssertRefusedAsync(["schedule", "create", fifo, "--name", "rt", "--nats-url", Nowhere],
            $"schedule create: {fifo}: could not be read within 10 s: is it a FIFO or a device waiting for input, or on a file system that does not answer?",
            TimeSpan.FromSeconds(20));
    }

    [Theory]
    [InlineData("--nats-creds")]
    [InlineData("--nats-nkey")]
    [InlineData("--tls-ca")]
    [InlineData("--tls-cert")]
    [InlineData("--tls-key")]
    public async Task A_connection_file_that_is_a_device_or_a_directory_is_refused_before_connecting(string option)
    {
        string folder = Folder();
        string config = Repo.Config("scheduler.example.yaml");
        foreach (string[] command in (string[][])[["status", "--name", "s"], ["run", "--config", config], ["watch"], ["schedule", "list", "--name", "s"]])
        {
            string name = command[0] == "schedule" ? "schedule list" : command[0];
            await AssertRefusedAsync([.. command, "--nats-url", Nowhere, option, "/dev/zero"],
                $"{name}: {option} /dev/zero: the file is over 1 MiB; a creds, nkey or certificate file is a few KB: check the path",
                TimeSpan.FromSeconds(10));
            await AssertRefusedAsync([.. command, "--nats-url", Nowhere, option, folder],
                $"{name}: {option} {folder}: is a directory; name the file itself", TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task A_creds_file_that_is_a_fifo_without_a_writer_is_refused_after_the_configs_wait()
    {
        string fifo = Fifo();
        await AssertRefusedAsync(["run", "--config", Repo.Config("scheduler.example.yaml"), "--nats-url", Nowhere, "--nats-creds", fifo],
            $"run: --nats-creds {fifo}: could not be read within 10 s: is it a FIFO or a device waiting for input, or on a file system that does not answer?",
            TimeSpan.FromSeconds(20));
    }

    [Theory]
    [InlineData("plan: --svg is empty; name the file to write, e.g. --svg plan.svg", "plan", "x.yaml", "--svg", "")]
    [InlineData("schedule create: the path is empty; name the file holding the entry (- for stdin)", "schedule", "create", "", "--name", "rt")]
    [InlineData("schedule update: the path is empty; name the file holding the entry (- for stdin)", "schedule", "update", "", "--name", "rt")]
    [InlineData("next: the path is empty; name the config file", "next", "")]
    [InlineData("plan: the path is empty; name the config file", "plan", "")]
    [InlineData("validate: the path is empty; name the config file", "validate", "")]
    [InlineData("validate: the path is empty; name the config file", "validate", "--json", "")]
    [InlineData("validate: the path is empty; name the config file", "validate", "config.yaml", "")]
    [InlineData("run: --config is empty; name the config file", "run", "--config", "")]
    [InlineData("status: --nats-creds is empty; name the file", "status", "--name", "s", "--nats-creds", "")]
    public async Task An_empty_path_is_a_usage_error_saying_which_is_empty(string message, params string[] args)
    {
        await AssertRefusedAsync(args, message, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_empty_LOOMSCHED_CONFIG_is_named_in_the_usage_error()
    {
        var (code, output, error) = await Loomsched.ExecAsync(new Dictionary<string, string> { ["LOOMSCHED_CONFIG"] = "" }, "run", "--nats-url", Nowhere);
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal("loomsched: error: run: LOOMSCHED_CONFIG is empty; name the config file in it or with --config PATH\n", error);
    }

    [Theory]
    [InlineData("run: --config is given twice; give it once", "run", "--config", "a.yaml", "--config", "b.yaml")]
    [InlineData("next: --count is given twice; give it once", "next", "a.yaml", "--count", "2", "--count=3")]
    [InlineData("status: --nats-url is given twice (as --nats-url and -s); give it once", "status", "--name", "s", "--nats-url", Nowhere, "-s", Nowhere)]
    [InlineData("validate: --strict is given twice; give it once", "validate", "a.yaml", "--strict", "--strict")]
    public async Task An_option_given_twice_is_a_usage_error_naming_it(string message, params string[] args)
    {
        await AssertRefusedAsync(args, message, TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("trigger: the schedule name is empty; name the schedule, e.g. loomsched trigger hourly_summarize --name default_scheduler", "trigger", "", "--name", "s", "--nats-url", Nowhere)]
    [InlineData("pause: the schedule name is empty; name the schedule, e.g. loomsched pause hourly_summarize --name default_scheduler", "pause", "", "--name", "s", "--nats-url", Nowhere)]
    [InlineData("schedule delete: the schedule name is empty; name the schedule, e.g. loomsched schedule delete nightly --name default_scheduler", "schedule", "delete", "", "--name", "s", "--nats-url", Nowhere)]
    [InlineData("schedule get: the schedule name is empty; name the schedule, e.g. loomsched schedule get nightly --name default_scheduler", "schedule", "get", "", "--name", "s", "--nats-url", Nowhere)]
    public async Task An_empty_schedule_name_is_a_usage_error_before_connecting(string message, params string[] args)
    {
        await AssertRefusedAsync(args, message, TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("validate: --strict takes no value, got \"--strict=false\"; give --strict alone, or leave it out", "validate", "a.yaml", "--strict=false")]
    [InlineData("next: --json takes no value, got \"--json=\"; give --json alone, or leave it out", "next", "a.yaml", "--json=")]
    [InlineData("run: --strict takes no value, got \"--strict=0\"; give --strict alone, or leave it out", "run", "--config", "a.yaml", "--strict=0")]
    public async Task A_switch_given_a_value_is_a_usage_error_not_turned_on(string message, params string[] args)
    {
        await AssertRefusedAsync(args, message, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Status_help_shows_format_in_its_usage_line()
    {
        var (code, output, _) = await Loomsched.ExecAsync("status", "--help");
        Assert.Equal(0, code);
        Assert.StartsWith("usage: loomsched status --name N [--subject-prefix P] [--timeout SECONDS] [--format json|prometheus] [--nats-url URL]", output);
    }
}
