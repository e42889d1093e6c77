using LoomSched.EndToEnd.Tests.Reliability.Support;
using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace LoomSched.EndToEnd.Tests.HighAvailability;

/// <summary>
/// <c>publish: jetstream</c>: a message counts as published only once the JetStream stream on its subject stored it
/// (PubAck), not when the NATS server received it.
/// </summary>
[Collection("nats")]
public sealed class StreamAckFacts(NatsFixture nats)
{
    [Fact]
    public async Task With_publish_jetstream_every_message_is_counted_published_only_once_the_stream_stored_it()
    {
        const int burst = 3000;
        var prefix = TempConfig.UniqueName("sa");
        string stream = prefix.ToUpperInvariant();
        var js = new NatsJSContext(nats.Client);
        await using var made = await TestStream.CreateAsync(js, new StreamConfig(stream, [$"{prefix}.tasks.incoming"]) { DuplicateWindow = TimeSpan.FromMinutes(2) });
        var config = TempConfig.Write($$"""
            name: sa
            subject_prefix: {{prefix}}
            publish: jetstream
            schedules:
              - name: tick
                interval_seconds: 0.2
                task: {worker_type: w}
              - name: fan
                interval_seconds: 3600
                task: {worker_type: w}
                expand_from: range
                expand_args: {count: {{burst}}}
            """);
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync("nats connected");
        string subject = $"{prefix}.scheduler.sa";
        await Control.StatusAsync(nats.Client, subject);
        await Control.TriggerAsync(nats.Client, subject, "fan");
        await Task.Delay(TimeSpan.FromSeconds(2));

        var status = await Control.StatusAsync(nats.Client, subject);
        Assert.Equal("jetstream", status.GetProperty("publish").GetString());
        Assert.Equal(0, status.GetProperty("publish_errors").GetInt64());
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);

        var (published, abandoned, dropped, errors) = Control.Stopped(daemon);
        var info = (await js.GetStreamAsync(stream)).Info;
        Assert.Equal((0L, 0L, 0L), (abandoned, dropped, errors));
        Assert.True(published > burst, $"only {published} published");
        // Every message counted as published is in the stream, and nothing else is.
        Assert.Equal(published, (long)info.State.Messages);
    }

    [Fact]
    public async Task With_publish_jetstream_messages_wait_unsent_for_a_missing_stream_say_why_and_go_in_once_it_exists()
    {
        var prefix = TempConfig.UniqueName("sn");
        string stream = prefix.ToUpperInvariant(), tasks = $"{prefix}.tasks.incoming";
        var js = new NatsJSContext(nats.Client);
        // A core subscriber of the subject, as Loom's workers are: while no stream stores the messages, sending them
        // again and again would hand it a copy each time.
        await using var worker = await Captured.StartAsync(nats.Client, tasks);
        var config = TempConfig.Write(Ticking("sn", prefix));
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync($"no JetStream stream captures {tasks}: its messages wait unsent until one does", TimeSpan.FromSeconds(15));
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        string subject = $"{prefix}.scheduler.sn";
        var waiting = await Control.StatusAsync(nats.Client, subject);
        Assert.Equal(0, waiting.GetProperty("published").GetInt64());
        Assert.Equal(0, waiting.GetProperty("publish_errors").GetInt64());
        Assert.True(waiting.GetProperty("pending").GetInt64() >= 5, waiting.GetRawText());
        Assert.Empty(worker.Messages);

        await using var made = await TestStream.CreateAsync(js, new StreamConfig(stream, [tasks]));
        await daemon.WaitForLogAsync($"stream {stream} now captures {tasks}: its waiting messages go out", TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        var (published, abandoned, dropped, errors) = Control.Stopped(daemon);
        Assert.Equal((0L, 0L, 0L), (abandoned, dropped, errors));
        // Nothing fired while the stream was missing is lost: every slot from the first is in it, and the worker
        // got each message once.
        var info = (await js.GetStreamAsync(stream)).Info;
        Assert.Equal(published, (long)info.State.Messages);
        Assert.True(published >= 10, $"only {published} published");
        var copies = await worker.WaitForAsync((int)published, TimeSpan.FromSeconds(5));
        Assert.Equal(copies.Count, copies.Select(m => m.Header("Nats-Msg-Id")).Distinct().Count());
        Assert.DoesNotContain(daemon.Stderr, l => l.Contains("   at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_publish_jetstream_a_subject_no_stream_captures_is_said_at_start_before_any_fire()
    {
        var prefix = TempConfig.UniqueName("ss");
        string stream = prefix.ToUpperInvariant(), goals = $"{prefix}.goals.incoming", tasks = $"{prefix}.tasks.incoming";
        var js = new NatsJSContext(nats.Client);
        await using var made = await TestStream.CreateAsync(js, new StreamConfig(stream, [goals]));
        var config = TempConfig.Write($$"""
            name: ss
            subject_prefix: {{prefix}}
            publish: jetstream
            schedules:
              - name: daily-goal
                interval_seconds: 86400
                goal: {instruction: summarise}
              - name: daily-task
                interval_seconds: 86400
                task: {worker_type: w}
            """);
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync($"publish: jetstream, but no JetStream stream captures {tasks}: messages to it will wait unsent until one does",
            TimeSpan.FromSeconds(15));
        await Control.StatusAsync(nats.Client, $"{prefix}.scheduler.ss");
        Assert.DoesNotContain(daemon.Stderr, l => l.Contains($"captures {goals}", StringComparison.Ordinal));
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
    }

    [Fact]
    public async Task With_publish_jetstream_a_stream_deleted_under_the_daemon_stops_its_resends_until_it_is_back()
    {
        var prefix = TempConfig.UniqueName("sd");
        string stream = prefix.ToUpperInvariant(), tasks = $"{prefix}.tasks.incoming";
        var js = new NatsJSContext(nats.Client);
        await using var first = await TestStream.CreateAsync(js, new StreamConfig(stream, [tasks]) { DuplicateWindow = TimeSpan.FromMinutes(2) });
        await using var worker = await Captured.StartAsync(nats.Client, tasks);
        var config = TempConfig.Write(Ticking("sd", prefix));
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await worker.WaitForAsync(5, TimeSpan.FromSeconds(15));

        await js.DeleteStreamAsync(stream);
        // The batch out when the stream went gets no PubAck (5 s); then the daemon asks, finds no stream, and waits.
        await daemon.WaitForLogAsync($"no JetStream stream captures {tasks}", TimeSpan.FromSeconds(20));
        int before = worker.Messages.Count;
        // Longer than a PubAck's wait: without the question, the batch would have gone again meanwhile.
        await Task.Delay(TimeSpan.FromSeconds(6.5));
        Assert.Equal(before, worker.Messages.Count);
        Assert.Equal(before, worker.Messages.Select(m => m.Header("Nats-Msg-Id")).Distinct().Count());

        await using var again = await TestStream.CreateAsync(js, new StreamConfig(stream, [tasks]) { DuplicateWindow = TimeSpan.FromMinutes(2) });
        await daemon.WaitForLogAsync($"stream {stream} now captures {tasks}", TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
        var (_, abandoned, dropped, errors) = Control.Stopped(daemon);
        Assert.Equal((0L, 0L, 0L), (abandoned, dropped, errors));
        // What waited went into the new stream.
        var info = (await js.GetStreamAsync(stream)).Info;
        Assert.True(info.State.Messages > 5, $"{info.State.Messages} in the new stream");
    }

    /// <summary>A daemon with <c>publish: jetstream</c> and one task schedule every 0.2 s.</summary>
    private static string Ticking(string name, string prefix) => $$"""
        name: {{name}}
        subject_prefix: {{prefix}}
        publish: jetstream
        schedules:
          - name: tick
            interval_seconds: 0.2
            task: {worker_type: w}
        """;

    /// <summary>A stream made for a test, deleted when disposed unless it is gone already.</summary>
    private sealed class TestStream(NatsJSContext js, string name) : IAsyncDisposable
    {
        public static async Task<TestStream> CreateAsync(NatsJSContext js, StreamConfig config)
        {
            await js.CreateStreamAsync(config);
            return new TestStream(js, config.Name!);
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await js.DeleteStreamAsync(name);
            }
            catch (NatsJSApiException)
            {
                // deleted by the test (a stream that went away under the daemon)
            }
        }
    }
}
