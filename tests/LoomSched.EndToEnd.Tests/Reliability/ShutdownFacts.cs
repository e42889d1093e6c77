using System.Diagnostics;
using System.Globalization;
using LoomSched.EndToEnd.Tests.Reliability.Support;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Reliability;

/// <summary>
/// SIGTERM when the daemon is busy or NATS is away: exit 0 within two seconds (the default grace is 1.5 s), and a
/// last line whose counts add up to every message built: published + abandoned + dropped + publish_errors.
/// </summary>
[Collection("reliability")]
public sealed class ShutdownFacts
{
    private static readonly TimeSpan TwoSeconds = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Sigterm_during_a_100000_message_fan_out_exits_zero_within_two_seconds_and_accounts_for_every_message()
    {
        const int count = 100_000;
        var prefix = TempConfig.UniqueName("fan");
        await using var server = await NatsServer.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        await using var seen = await Recorder.StartAsync(server.Url, $"{prefix}.tasks.incoming");
        var config = RangeFanOut("fanout", prefix, count);
        // A link of 8 MB/s makes the fan-out (about 45 MB) last several seconds, so the SIGTERM lands in its middle.
        await using var link = Link.Open(server.Port, bytesPerSecond: 8_000_000);
        await using var daemon = Loomsched.Run(config, link.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.fanout";
        await Control.StatusAsync(client, subject);

        await Control.TriggerAsync(client, subject, "fan");
        await seen.WaitForAsync(1000, TimeSpan.FromSeconds(30));
        var (code, took) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        await seen.SettleAsync(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));

        Assert.True(code == 0, $"exit code {code}; log:\n{daemon.Log}");
        Assert.True(took < TwoSeconds, $"took {took.TotalMilliseconds:0} ms; log:\n{daemon.Log}");
        var (published, abandoned, dropped, errors) = Control.Stopped(daemon);
        Assert.Equal(count, published + abandoned + dropped + errors);
        Assert.Equal(0, dropped);
        Assert.Equal(0, errors);
        Assert.True(abandoned > 0, $"the SIGTERM came after the whole fan-out (published={published}); it must come in the middle");
        // Published means confirmed by the server, so the subscriber has at least that many; abandoned messages the
        // client had already written may have arrived too, but no more than those.
        var received = seen.Messages.Select(m => m.Index).ToList();
        Assert.Equal(received.Count, received.Distinct().Count());
        Assert.InRange(received.Count, published, published + abandoned);
        Assert.True(received.SequenceEqual(Enumerable.Range(0, received.Count)), "the fan-out arrived out of order or with a hole");
        // Closing the connection cancels the client's socket loops, which it logs as a socket error: no warning (#20).
        var afterStop = daemon.Stderr.SkipWhile(l => !l.Contains("stopped: ", StringComparison.Ordinal)).Skip(1).ToList();
        Assert.DoesNotContain(afterStop, l => l.Contains(" warn ", StringComparison.Ordinal) || l.Contains("Operation canceled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sigterm_while_the_server_has_not_yet_confirmed_what_was_sent_exits_zero_counting_it_as_abandoned()
    {
        // A link of 1 MB/s takes about ten seconds for the fan-out: when the short grace ends, the PINGs that confirm
        // the batches sent are still queued behind it, and their waits are cut.
        const int count = 20_000;
        var stop = await SigtermDuringSlowFanOutAsync("slow", count, bytesPerSecond: 1_000_000, TimeSpan.FromMilliseconds(500));

        Assert.True(stop.Code == 0, $"exit code {stop.Code}; log:\n{stop.Log}");
        Assert.True(stop.Took < TwoSeconds, $"took {stop.Took.TotalMilliseconds:0} ms; log:\n{stop.Log}");
        var (published, abandoned, dropped, errors) = stop.Counts;
        Assert.Equal(count, published + abandoned + dropped + errors);
        Assert.True(abandoned > 0, $"published={published}: the SIGTERM must come before the server confirmed everything");
        Assert.Equal(0, dropped + errors);
    }

    [Fact]
    public async Task Sigterm_over_a_link_too_slow_to_take_the_clients_last_commands_exits_zero_at_once_without_a_stack_trace()
    {
        // Messages of about 4 kB at 200 kB/s: what the daemon wrote before the SIGTERM fills the socket and the
        // client's buffer, and the client's unsubscribe at close waits behind it, up to its 5 s command timeout per
        // subscription, and then throws.
        const int count = 20_000;
        var stop = await SigtermDuringSlowFanOutAsync("crawl", count, bytesPerSecond: 200_000, TimeSpan.FromSeconds(1), text: new string('x', 4000));

        Assert.True(stop.Code == 0, $"exit code {stop.Code}; log:\n{stop.Log}");
        Assert.True(stop.Took < TimeSpan.FromSeconds(3), $"took {stop.Took.TotalMilliseconds:0} ms; log:\n{stop.Log}");
        Assert.DoesNotContain("Unhandled exception", stop.Log, StringComparison.Ordinal);
        var (published, abandoned, dropped, errors) = stop.Counts;
        Assert.Equal(count, published + abandoned + dropped + errors);
    }

    /// <summary>How a SIGTERM went: the exit code, how long the exit took, the log and the counts of its last line.</summary>
    private sealed record Stop(int Code, TimeSpan Took, string Log, (long Published, long Abandoned, long Dropped, long Errors) Counts);

    /// <summary>
    /// Triggers a fan-out of <paramref name="count"/> (of <paramref name="text"/> each, when given) over a link of
    /// <paramref name="bytesPerSecond"/>, and sends SIGTERM <paramref name="after"/> that; the grace is 0.3 s.
    /// </summary>
    private static async Task<Stop> SigtermDuringSlowFanOutAsync(string name, int count, int bytesPerSecond, TimeSpan after, string? text = null)
    {
        var prefix = TempConfig.UniqueName(name);
        await using var server = await NatsServer.StartAsync();
        await using var client = new NatsConnection(NatsOpts.Default with { Url = server.Url });
        var config = RangeFanOut(name, prefix, count, text);
        await using var link = Link.Open(server.Port, bytesPerSecond);
        await using var daemon = Loomsched.Run(config, link.Url, "--shutdown-grace", "0.3");
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.{name}";
        await Control.StatusAsync(client, subject);

        await Control.TriggerAsync(client, subject, "fan");
        await Task.Delay(after);
        var (code, took) = await daemon.TerminateAsync(TimeSpan.FromSeconds(30));
        return new Stop(code, took, daemon.Log, code == 0 ? Control.Stopped(daemon) : default);
    }

    [Fact]
    public async Task Sigterm_while_nats_is_down_exits_zero_within_two_seconds_counting_buffered_messages_as_abandoned_and_overflow_as_dropped()
    {
        var prefix = TempConfig.UniqueName("down");
        await using var server = await NatsServer.StartAsync();
        var config = TempConfig.Write($$"""
            name: down
            subject_prefix: {{prefix}}
            max_pending: 4
            schedules:
              - name: tick
                interval_seconds: 0.1
                task: {worker_type: w}
            """);
        await using var seen = await Recorder.StartAsync(server.Url, $"{prefix}.tasks.incoming");
        await using var daemon = Loomsched.Run(config, server.Url);
        await seen.WaitForAsync(3, TimeSpan.FromSeconds(15));
        await server.StopAsync();
        await daemon.WaitForLogAsync("nats disconnected", TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(1.2)); // about twelve fires: four buffered, the rest dropped

        var (code, took) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);
        Assert.True(took < TwoSeconds, $"took {took.TotalMilliseconds:0} ms; log:\n{daemon.Log}");
        var (published, abandoned, dropped, errors) = Control.Stopped(daemon);
        long built = Control.FiredMessages(daemon, "tick");
        Assert.Equal(built, published + abandoned + dropped + errors);
        Assert.Equal(4, abandoned);
        Assert.True(dropped >= 5, $"dropped={dropped}; log:\n{daemon.Log}");
        Assert.Equal(0, errors);
        Assert.True(seen.Count <= published, $"the subscriber has {seen.Count} messages; the daemon says {published} were published");
    }

    [Theory]
    [InlineData(15, 143)] // SIGTERM
    [InlineData(2, 130)] // SIGINT
    public async Task A_second_stop_signal_during_a_long_grace_ends_the_process_at_once_saying_what_it_abandons(int signal, int exitCode)
    {
        var config = TempConfig.Write("""
            name: twice
            schedules:
              - name: tick
                interval_seconds: 0.1
                task: {worker_type: w}
            """);
        // NATS never reached: every message waits in the buffer, and the stop waits out the grace for them. A suite
        // started as a shell's background job ignores SIGINT, and the daemon would inherit that: env resets it.
        await using var daemon = Loomsched.Start(ChildProcess.Info("/usr/bin/env", ["--default-signal=INT", Repo.Binary,
            "run", "--config", config, "--nats-url", $"nats://127.0.0.1:{NatsServer.FreePort()}", "--shutdown-grace", "60"], new Dictionary<string, string>()));
        await daemon.WaitForLogAsync("fired tick");
        await Task.Delay(300);

        daemon.Signal(Signals.SIGTERM);
        await daemon.WaitForLogAsync("stopping: waiting up to 60 s for ");
        var (code, took) = await daemon.TerminateWithAsync(signal, TimeSpan.FromSeconds(10));

        Assert.Equal(exitCode, code);
        Assert.True(took < TwoSeconds, $"took {took.TotalMilliseconds:0} ms; log:\n{daemon.Log}");
        Assert.Contains(daemon.Stderr, l => l.Contains($"stopped at once by a second {(signal == 2 ? "SIGINT" : "SIGTERM")}: published=0, ", StringComparison.Ordinal)
            && l.Contains(" message(s) not sent or not confirmed are abandoned", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sigterm_before_nats_was_ever_reached_exits_zero_within_two_seconds()
    {
        var config = TempConfig.Write("""
            name: never
            schedules:
              - name: tick
                interval_seconds: 0.1
                task: {worker_type: w}
            """);
        await using var daemon = Loomsched.Run(config, $"nats://127.0.0.1:{NatsServer.FreePort()}");
        await daemon.WaitForLogAsync("fired tick");
        await Task.Delay(500);
        var (code, took) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);
        Assert.True(took < TwoSeconds, $"took {took.TotalMilliseconds:0} ms; log:\n{daemon.Log}");
        var (published, abandoned, dropped, _) = Control.Stopped(daemon);
        Assert.Equal(0, published);
        Assert.Equal(Control.FiredMessages(daemon, "tick"), abandoned + dropped);
    }

    [Fact]
    public async Task Sigterm_while_nats_is_away_and_forty_schedules_fire_at_their_own_instants_exits_within_two_seconds_having_logged_every_fire()
    {
        // Forty instants a second, about 25 ms apart: each instant's "fired" lines wait at most 50 ms for the
        // messages to be sent. They once waited 50 ms behind one another, so with NATS away the log fell behind
        // without end, and the stop waited for that backlog past its deadline: no "stopped" line, fires unlogged.
        var schedules = string.Concat(Enumerable.Range(0, 40).Select(i => $$"""

              - name: s{{i}}
                interval_seconds: {{(1 + i / 100.0).ToString("0.00", CultureInfo.InvariantCulture)}}
                task: {worker_type: w}
            """));
        var config = TempConfig.Write("name: many\nschedules:" + schedules + "\n");
        await using var daemon = Loomsched.Run(config, $"nats://127.0.0.1:{NatsServer.FreePort()}");
        await daemon.WaitForLogAsync("fired s39");
        await Task.Delay(TimeSpan.FromSeconds(3));

        var (code, took) = await daemon.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, code);
        Assert.True(took < TwoSeconds, $"took {took.TotalMilliseconds:0} ms; log:\n{daemon.Log}");
        var (published, abandoned, dropped, errors) = Control.Stopped(daemon);
        Assert.Equal(0, published + errors);
        long fired = Enumerable.Range(0, 40).Sum(i => Control.FiredMessages(daemon, $"s{i}"));
        Assert.Equal(fired, abandoned + dropped);
        Assert.True(fired >= 120, $"fired {fired}; log:\n{daemon.Log}");
    }

    /// <summary>
    /// A config of one schedule, <c>fan</c>, expanding (<c>range</c>) to <paramref name="count"/> messages, each
    /// carrying <paramref name="text"/> in its payload when given.
    /// </summary>
    private static string RangeFanOut(string name, string prefix, int count, string? text = null) => TempConfig.Write($$"""
        name: {{name}}
        subject_prefix: {{prefix}}
        schedules:
          - name: fan
            interval_seconds: 3600
            task: {worker_type: w{{(text is null ? "" : $", payload: {{text: {text}}}")}}}
            expand_from: range
            expand_args: {count: {{count}}}
        """);
}
