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
        await js.CreateStreamAsync(new StreamConfig(stream, [$"{prefix}.tasks.incoming"]) { DuplicateWindow = TimeSpan.FromMinutes(2) });
        try
        {
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
        finally
        {
            await js.DeleteStreamAsync(stream);
        }
    }

    [Fact]
    public async Task With_publish_jetstream_messages_wait_for_a_missing_stream_say_why_and_go_in_once_it_exists()
    {
        var prefix = TempConfig.UniqueName("sn");
        string stream = prefix.ToUpperInvariant();
        var js = new NatsJSContext(nats.Client);
        var config = TempConfig.Write($$"""
            name: sn
            subject_prefix: {{prefix}}
            publish: jetstream
            schedules:
              - name: tick
                interval_seconds: 0.2
                task: {worker_type: w}
            """);
        await using var daemon = Loomsched.Run(config, nats.Server.Url);
        await daemon.WaitForLogAsync($"no JetStream stream answered for {prefix}.tasks.incoming", TimeSpan.FromSeconds(15));
        await Task.Delay(TimeSpan.FromSeconds(1));
        string subject = $"{prefix}.scheduler.sn";
        var waiting = await Control.StatusAsync(nats.Client, subject);
        Assert.Equal(0, waiting.GetProperty("published").GetInt64());
        Assert.Equal(0, waiting.GetProperty("publish_errors").GetInt64());
        Assert.True(waiting.GetProperty("pending").GetInt64() >= 5, waiting.GetRawText());

        await js.CreateStreamAsync(new StreamConfig(stream, [$"{prefix}.tasks.incoming"]));
        try
        {
            await daemon.WaitForLogAsync("messages confirmed again after", TimeSpan.FromSeconds(10));
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(0, (await daemon.TerminateAsync(TimeSpan.FromSeconds(10))).Code);
            var (published, abandoned, dropped, errors) = Control.Stopped(daemon);
            Assert.Equal((0L, 0L, 0L), (abandoned, dropped, errors));
            // Nothing fired while the stream was missing is lost: every slot from the first is in it.
            var info = (await js.GetStreamAsync(stream)).Info;
            Assert.Equal(published, (long)info.State.Messages);
            Assert.True(published >= 10, $"only {published} published");
            Assert.DoesNotContain(daemon.Stderr, l => l.Contains("   at ", StringComparison.Ordinal));
        }
        finally
        {
            await js.DeleteStreamAsync(stream);
        }
    }
}
