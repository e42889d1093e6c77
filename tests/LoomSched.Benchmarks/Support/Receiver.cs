using System.Globalization;
using System.Threading.Channels;
using NATS.Client.Core;

namespace LoomSched.Benchmarks.Support;

/// <summary>One message as a subscriber saw it: when it arrived and the slot its <c>Loom-Scheduled-For</c> header names.</summary>
internal readonly record struct Arrival(DateTime At, string? ScheduledFor, string? Schedule, string? MessageId, byte[]? Body);

/// <summary>
/// A subscriber on its own connection that stamps each message the moment the client hands it over. Its pending
/// channel waits instead of dropping (the client's default drops the newest when 16k messages are pending), so a
/// burst of 100,000 is counted whole.
/// </summary>
internal sealed class Receiver : IArrivals
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;
    private readonly NatsConnection _connection;
    private readonly INatsSub<byte[]> _sub;
    private readonly Task _loop;
    private readonly bool _keepBodies;
    private List<Arrival> _arrivals = new(1 << 16);
    private readonly Lock _gate = new();
    private int _count;

    private Receiver(NatsConnection connection, INatsSub<byte[]> sub, bool keepBodies)
    {
        _connection = connection;
        _sub = sub;
        _keepBodies = keepBodies;
        _loop = Task.Run(LoopAsync);
    }

    public int Count => Volatile.Read(ref _count);

    public static async Task<Receiver> StartAsync(string url, string subject, bool keepBodies = false)
    {
        var connection = new NatsConnection(NatsOpts.Default with
        {
            Url = url,
            Name = "bench-receiver",
            SubPendingChannelCapacity = 1 << 20,
            SubPendingChannelFullMode = BoundedChannelFullMode.Wait,
        });
        await connection.ConnectAsync();
        var sub = await connection.SubscribeCoreAsync(subject, serializer: Raw);
        await connection.PingAsync(); // the server has the subscription before anything is published
        return new Receiver(connection, sub, keepBodies);
    }

    /// <summary>Takes what has arrived so far and starts a new list.</summary>
    public List<Arrival> Take()
    {
        lock (_gate)
        {
            var taken = _arrivals;
            _arrivals = new List<Arrival>(1 << 16);
            Volatile.Write(ref _count, 0);
            return taken;
        }
    }

    public async Task<bool> WaitForCountAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(2);
        }
        return true;
    }

    private async Task LoopAsync()
    {
        var reader = _sub.Msgs;
        try
        {
            while (await reader.WaitToReadAsync())
            {
                while (reader.TryRead(out var msg))
                {
                    var at = DateTime.UtcNow;
                    string? slot = null, schedule = null, id = null;
                    if (msg.Headers is { } h)
                    {
                        slot = h.TryGetValue("Loom-Scheduled-For", out var v) ? v.ToString() : null;
                        schedule = h.TryGetValue("Loom-Schedule", out var s) ? s.ToString() : null;
                        id = _keepBodies && h.TryGetValue("Nats-Msg-Id", out var m) ? m.ToString() : null;
                    }
                    var arrival = new Arrival(at, slot, schedule, id, _keepBodies ? msg.Data : null);
                    lock (_gate)
                    {
                        _arrivals.Add(arrival);
                        _count++;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _sub.UnsubscribeAsync();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5));
        await _connection.DisposeAsync();
    }

    /// <summary>Parses a Loom timestamp (<c>2026-11-27T03:00:00Z</c>, <c>...00.123456Z</c>) to UTC.</summary>
    public static DateTime ParseSlot(string text) =>
        DateTime.ParseExact(text, ["yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'"],
            CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
}

/// <summary>Parses slot headers once per distinct slot (a thousand schedules share each one).</summary>
internal sealed class SlotCache
{
    private readonly Dictionary<string, DateTime> _slots = new(StringComparer.Ordinal);

    public DateTime this[string text]
    {
        get
        {
            if (!_slots.TryGetValue(text, out var slot))
            {
                slot = Receiver.ParseSlot(text);
                _slots[text] = slot;
            }
            return slot;
        }
    }
}
