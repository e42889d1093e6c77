using System.Text.RegularExpressions;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests.Reliability;

/// <summary>
/// The published binary on generated command lines: any command with any flags and values, in any order, right or
/// wrong (missing, directory and device paths, broken configs, bad numbers and times, empty and huge values). Whatever
/// it is given it ends with 0, 1 or 2, says something, and never shows a stack trace. CI runs <see cref="CiCases"/>
/// command lines from a fixed seed; <c>LOOMSCHED_PROPERTY_CASES</c> and <c>LOOMSCHED_PROPERTY_SEED</c> run others.
/// </summary>
public sealed partial class GeneratedArgumentsFacts
{
    private const int CiCases = 150;
    private const int CiSeed = 20261207;

    private static readonly string[] Commands =
        ["validate", "next", "plan", "status", "trigger", "pause", "resume", "reload", "schedule", "watch", "run",
         "--version", "--help", "-h", "", "bogus", "VALIDATE", "help", "version"];

    private static readonly string[] ScheduleCommands = ["create", "update", "delete", "get", "list", "bogus", ""];

    private static readonly string[] Flags =
        ["--json", "--strict", "--count", "--schedule", "--from", "--hours", "--svg", "--name", "--nats-url", "--timeout",
         "--subject-prefix", "--format", "--nats-creds", "--nats-nkey", "--tls-ca", "--tls-cert", "--tls-key", "--log-format",
         "--log-level", "--metrics-address", "--config", "--shutdown-grace", "--help", "-h", "--", "-", "--count=3", "-x"];

    private static readonly string[] Values =
        ["good.yaml", "broken.yaml", "missing.yaml", "/dev/null", "folder", "", "0", "-1", "99999999999999999999", "abc",
         "2027-01-01T00:00:00Z", "2027-13-01T00:00:00Z", "nats://127.0.0.1:1", "nats://", "tls://:0", "1e400", "NaN", "é",
         new string('x', 5000), "json", "prometheus", "text", "debug", "a b", "0.2", "3", "24", "out.svg", "folder/out.svg",
         "/proc/self/status", "127.0.0.1:0", "[::1]:99999", "-"];

    [Fact]
    public async Task Any_command_line_ends_with_0_1_or_2_and_a_message_never_a_stack_trace()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("LOOMSCHED_PROPERTY_CASES"), out int n) ? n : CiCases;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("LOOMSCHED_PROPERTY_SEED"), out int s) ? s : CiSeed;
        var random = new Random(seed);
        string dir = Directory.CreateTempSubdirectory("loomsched-args-").FullName;
        try
        {
            File.Copy(Repo.Config("scheduler.example.yaml"), Path.Combine(dir, "good.yaml"));
            File.Copy(Path.Combine(Repo.Root, "tests", "configs", "invalid", "cron-bad-value.yaml"), Path.Combine(dir, "broken.yaml"));
            Directory.CreateDirectory(Path.Combine(dir, "folder"));
            var codes = new int[3];
            for (int i = 0; i < cases; i++)
            {
                var args = CommandLine(random);
                var (code, output) = await ExecAsync(dir, args);
                string shown = string.Join(' ', args.Select(a => a.Length > 40 ? a[..40] + "…" : $"\"{a}\""));
                Assert.True(code is >= 0 and <= 2, $"case {i}: {shown} exited {code}:\n{output}");
                Assert.False(StackFrame().IsMatch(output) || output.Contains("Unhandled exception", StringComparison.Ordinal),
                    $"case {i}: {shown} showed a stack trace:\n{output}");
                Assert.True(code == 0 || output.Trim().Length > 0, $"case {i}: {shown} exited {code} without a word");
                codes[code]++;
            }
            Assert.True(codes.All(c => c > 0), $"every exit code came up: {string.Join(", ", codes)}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A command (and a sub-command for <c>schedule</c>) with up to five flags and values.</summary>
    private static List<string> CommandLine(Random random)
    {
        var args = new List<string> { Commands[random.Next(Commands.Length)] };
        if (args[0] == "schedule")
        {
            args.Add(ScheduleCommands[random.Next(ScheduleCommands.Length)]);
        }
        for (int k = random.Next(6); k > 0; k--)
        {
            if (random.Next(2) == 0)
            {
                args.Add(Flags[random.Next(Flags.Length)]);
            }
            args.Add(Values[random.Next(Values.Length)]);
        }
        if (args[0] is "run" or "watch" && !args.Contains("--help") && !args.Contains("-h"))
        {
            args.Add("--no-such-flag"); // a daemon or a watch that starts would run on: this one is refused
        }
        return args;
    }

    /// <summary>Runs the binary in <paramref name="dir"/> with nothing on stdin, a daemon name, and no NATS server to reach.</summary>
    private static async Task<(int Code, string Output)> ExecAsync(string dir, List<string> args)
    {
        var info = ChildProcess.Info(Repo.Binary, args, new Dictionary<string, string> { ["NATS_URL"] = "nats://127.0.0.1:1", ["LOOMSCHED_NAME"] = "sched" });
        info.WorkingDirectory = dir;
        var (code, stdout, stderr) = await ChildProcess.RunAsync(info, TimeSpan.FromSeconds(30));
        return (code, stdout + stderr);
    }

    [GeneratedRegex(@"^\s+at \S+\(", RegexOptions.Multiline)]
    private static partial Regex StackFrame();
}
