using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Reliability.Support;

/// <summary>What the reliability tests need of a message: which schedule, slot and expansion index, and when.</summary>
public sealed record Seen(string Subject, string Schedule, string Slot, string MessageId, int Size, DateTimeOffset At)
{
    public DateTimeOffset SlotTime => Slots.Parse(Slot);

    /// <summary>The expansion index, the last segment of <c>Nats-Msg-Id</c>.</summary>
    public int Index => int.Parse(MessageId[(MessageId.LastIndexOf('/') + 1)..], CultureInfo.InvariantCulture);
}

/// <summary>
/// Records what arrives on a subject through its own connection, with a subscription channel large enough for a
/// 100,000-message burst (the default one drops the newest messages when full) and no parsing on the way in.
/// </summary>
public sealed class Recorder : IAsyncDisposable
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;
    private readonly ConcurrentQueue<Seen> _messages = new();
    private readonly NatsConnection _connection;
    private readonly INatsSub<byte[]> _subscription;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private Recorder(NatsConnection connection, INatsSub<byte[]> subscription)
    {
        _connection = connection;
        _subscription = subscription;
        _loop = Task.Run(async () =>
        {
            try
            {
                await foreach (var msg in subscription.Msgs.ReadAllAsync(_stop.Token))
                {
                    _messages.Enqueue(new Seen(msg.Subject, Header(msg.Headers, "Loom-Schedule"), Header(msg.Headers, "Loom-Scheduled-For"),
                        Header(msg.Headers, "Nats-Msg-Id"), msg.Data?.Length ?? 0, DateTimeOffset.UtcNow));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public IReadOnlyList<Seen> Messages => [.. _messages];

    public int Count => _messages.Count;

    public IReadOnlyList<Seen> Of(string schedule) => [.. _messages.Where(m => m.Schedule == schedule)];

    public static Task<Recorder> StartAsync(string url, string subject) => StartAsync(NatsOpts.Default with { Url = url }, subject);

    /// <summary>Records through a connection made with <paramref name="opts"/> (credentials, TLS).</summary>
    public static async Task<Recorder> StartAsync(NatsOpts opts, string subject)
    {
        var connection = new NatsConnection(opts with { SubPendingChannelCapacity = 1_000_000 });
        await connection.ConnectAsync();
        var sub = await connection.SubscribeCoreAsync(subject, serializer: Raw);
        await connection.PingAsync(); // the server has the subscription before anything is published
        return new Recorder(connection, sub);
    }

    public async Task<IReadOnlyList<Seen>> WaitForAsync(int count, TimeSpan timeout, string? schedule = null)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var matching = schedule is null ? Messages : Of(schedule);
            if (matching.Count >= count)
            {
                return matching;
            }
            if (watch.Elapsed > timeout)
            {
                Assert.Fail($"received {matching.Count} of {count} expected messages{(schedule is null ? "" : " of " + schedule)} within {timeout.TotalSeconds} s");
            }
            await Task.Delay(10);
        }
    }

    /// <summary>Waits until nothing new has arrived for <paramref name="quiet"/> (bounded by <paramref name="timeout"/>).</summary>
    public async Task SettleAsync(TimeSpan quiet, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        int last = -1;
        var still = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            int now = Count;
            if (now != last)
            {
                last = now;
                still.Restart();
            }
            else if (still.Elapsed >= quiet)
            {
                return;
            }
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _subscription.DisposeAsync();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5));
        await _connection.DisposeAsync();
    }

    private static string Header(NatsHeaders? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var v) ? v.ToString() : "";
}

/// <summary>Slot arithmetic for interval schedules (a fixed grid <c>start + k·interval</c>).</summary>
public static class Slots
{
    public static DateTimeOffset Parse(string iso) =>
        DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    /// <summary>The grid index of each slot, counted from <paramref name="origin"/>.</summary>
    public static long Index(DateTimeOffset slot, DateTimeOffset origin, TimeSpan interval) =>
        (long)Math.Round((slot - origin).Ticks / (double)interval.Ticks);

    /// <summary>The grid indexes of the messages, in arrival order, counted from the earliest slot.</summary>
    public static List<long> Indexes(IEnumerable<Seen> messages, TimeSpan interval)
    {
        var list = messages.ToList();
        if (list.Count == 0)
        {
            return [];
        }
        var origin = list.Min(m => m.SlotTime);
        return [.. list.Select(m => Index(m.SlotTime, origin, interval))];
    }

    /// <summary>Describes a sequence of grid indexes compactly (runs), for assertion messages.</summary>
    public static string Describe(IEnumerable<long> indexes)
    {
        var runs = new List<string>();
        long? start = null, prev = null;
        foreach (var i in indexes)
        {
            if (prev is { } p && i == p + 1)
            {
                prev = i;
                continue;
            }
            if (start is not null)
            {
                runs.Add(start == prev ? $"{start}" : $"{start}-{prev}");
            }
            start = prev = i;
        }
        if (start is not null)
        {
            runs.Add(start == prev ? $"{start}" : $"{start}-{prev}");
        }
        return string.Join(",", runs);
    }
}
