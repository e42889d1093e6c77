using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>One message as a Loom consumer would receive it, with when it arrived.</summary>
public sealed record Received(string Subject, JsonElement Body, string RawBody, NatsHeaders? Headers, DateTimeOffset At)
{
    public string? Header(string name) => Headers is not null && Headers.TryGetValue(name, out var v) ? v.ToString() : null;
}

/// <summary>Subscribes to a subject and records what arrives, until disposed.</summary>
public sealed class Captured : IAsyncDisposable
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;
    private readonly ConcurrentQueue<Received> _messages = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private Captured(INatsSub<byte[]> subscription)
    {
        _loop = Task.Run(async () =>
        {
            try
            {
                await foreach (var msg in subscription.Msgs.ReadAllAsync(_stop.Token))
                {
                    var text = System.Text.Encoding.UTF8.GetString(msg.Data ?? []);
                    var body = JsonDocument.Parse(text).RootElement.Clone();
                    _messages.Enqueue(new Received(msg.Subject, body, text, msg.Headers, DateTimeOffset.UtcNow));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        Subscription = subscription;
    }

    private INatsSub<byte[]> Subscription { get; }

    public IReadOnlyList<Received> Messages => [.. _messages];

    public static async Task<Captured> StartAsync(NatsConnection client, string subject)
    {
        var sub = await client.SubscribeCoreAsync(subject, serializer: Raw);
        await client.PingAsync(); // the server has the subscription before the daemon publishes
        return new Captured(sub);
    }

    public async Task<IReadOnlyList<Received>> WaitForAsync(int count, TimeSpan timeout, Func<Received, bool>? where = null)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var matching = Messages.Where(where ?? (_ => true)).ToList();
            if (matching.Count >= count)
            {
                return matching;
            }
            if (watch.Elapsed > timeout)
            {
                Assert.Fail($"received {matching.Count} of {count} expected messages within {timeout.TotalSeconds} s");
            }
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Subscription.DisposeAsync();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5));
    }
}

/// <summary>Temporary config files for a test.</summary>
public static class TempConfig
{
    public static string Write(string yaml)
    {
        var dir = Directory.CreateTempSubdirectory("loomsched-e2e-").FullName;
        var path = Path.Combine(dir, "scheduler.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    public static string UniqueName(string stem) => $"{stem}_{Guid.NewGuid():N}"[..(stem.Length + 9)];
}
