using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests;

/// <summary>
/// A daemon built as a user builds one (tests/user-functions dropped into a copy of the daemon project, published by
/// <c>./build.sh test</c>): its function is compiled into the registry, and the host's container hands it the
/// services the README promises, under NativeAOT.
/// </summary>
[Collection("nats")]
public sealed class UserFunctionFacts(NatsFixture nats)
{
    [Fact]
    public async Task A_users_function_gets_its_options_its_own_service_a_typed_logger_and_the_nats_connection()
    {
        var prefix = TempConfig.UniqueName("user");
        var config = TempConfig.Write($$"""
            name: greeter
            subject_prefix: {{prefix}}
            schedules:
              - name: greet
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: greetings
            """);
        var env = new Dictionary<string, string> { ["GREETING_TEXT"] = "good morning", ["GREETING_COUNT"] = "3" };
        await using var seen = await Captured.StartAsync(nats.Client, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.StartBinary(Repo.UserSampleBinary, env,
            "run", "--config", config, "--nats-url", nats.Server.Url, "--log-format", "json");
        await daemon.WaitForLogAsync("nats connected", TimeSpan.FromSeconds(20));

        for (int fire = 1; fire <= 2; fire++)
        {
            var (code, output, error) = await Loomsched.ExecAsync("trigger", "greet", "--name", "greeter", "--subject-prefix", prefix, "--nats-url", nats.Server.Url);
            Assert.True(code == 0, output + error);
            var messages = await seen.WaitForAsync(3 * fire, TimeSpan.FromSeconds(15));
            Assert.Equal(3 * fire, messages.Count);
        }

        // IOptions<GreetingOptions> from the environment; the singleton counted both fires; INatsConnection was open.
        var payloads = seen.Messages.Select(m => m.Body.GetProperty("payload")).ToList();
        Assert.All(payloads, p => Assert.Equal("good morning", p.GetProperty("greeting").GetString()));
        Assert.All(payloads, p => Assert.Equal("Open", p.GetProperty("nats").GetString()));
        Assert.Equal([1, 1, 1, 2, 2, 2], payloads.Select(p => p.GetProperty("call").GetInt32()).Order());
        Assert.Equal([0, 0, 1, 1, 2, 2], payloads.Select(p => p.GetProperty("i").GetInt32()).Order());

        // ILogger<GreetingCounter>: the user's category and message, through the daemon's own JSON log lines.
        await daemon.WaitForLogAsync("greeting call 2 for greet", TimeSpan.FromSeconds(10));
        var line = daemon.Stderr.Single(l => l.Contains("greeting call 1 for greet", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(line);
        Assert.Equal("Acme.Greetings.GreetingCounter", json.RootElement.GetProperty("category").GetString());
        Assert.Equal("info", json.RootElement.GetProperty("level").GetString());
    }

    [Fact]
    public async Task Options_refused_by_a_users_validation_stop_the_start_with_one_line_and_exit_2()
    {
        var config = GreeterConfig();
        var env = new Dictionary<string, string> { ["GREETING_COUNT"] = "0" };
        var (code, output, error) = await Loomsched.ExecBinaryAsync(Repo.UserSampleBinary, env, "run", "--config", config, "--nats-url", nats.Server.Url);
        Assert.True(code == 2, $"exit {code}: {output}{error}");
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("error Hosting failed to start (OptionsValidationException: GREETING_COUNT must be a number from 1 to 100)", line);
    }

    [Fact]
    public async Task Only_the_binary_built_with_a_function_accepts_a_config_that_names_it()
    {
        var config = GreeterConfig();
        var (code, output, error) = await Loomsched.ExecAsync("validate", config);
        Assert.Equal(2, code);
        Assert.Contains("greetings", output + error);

        (code, output, error) = await Loomsched.ExecBinaryAsync(Repo.UserSampleBinary, new Dictionary<string, string>(), "validate", config);
        Assert.True(code == 0, output + error);
    }

    /// <summary>One schedule, <c>greet</c>, expanding through the sample's <c>greetings</c> function.</summary>
    private static string GreeterConfig() => TempConfig.Write("""
        name: greeter
        schedules:
          - name: greet
            interval_seconds: 3600
            task: {worker_type: w}
            expand_from: greetings
        """);
}
