using System.Text;
using System.Text.Json;
using LoomSched.Config;
using LoomSched.Control;
using LoomSched.Daemon.Coordination;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace LoomSched.Daemon.RuntimeSchedules;

/// <summary>
/// The bucket of <c>runtime_schedules</c> (JetStream KV): opened (or created) once NATS is up, written by the control
/// actions, and watched, so that every value — the content at start, a <c>nats kv put</c>, another replica's write, a
/// delete — reaches the <see cref="RuntimeScheduleSet"/>.
/// </summary>
internal sealed partial class KvScheduleBucket(INatsConnection connection, string bucket, ILogger log) : IScheduleBucket
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    /// <summary>How long a write waits for the bucket (NATS away at start): then the request is refused, saying why.</summary>
    private static readonly TimeSpan OpenWait = TimeSpan.FromSeconds(1.5);

    private readonly TaskCompletionSource<INatsKVStore> _store = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _loaded;

    public string Bucket { get; } = bucket;

    /// <summary>Opens the bucket (retrying while NATS is away), then follows its values until stopped.</summary>
    public async Task RunAsync(RuntimeScheduleSet set, CancellationToken stoppingToken)
    {
        var kv = new NatsKVContext(new NatsJSContext((NatsConnection)connection));
        INatsKVStore? store = null;
        bool told = false;
        while (store is null && !stoppingToken.IsCancellationRequested)
        {
            try
            {
                store = await OpenOrCreateAsync(kv, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NatsException or NatsJSException && !stoppingToken.IsCancellationRequested)
            {
                if (!told)
                {
                    LogUnavailable(Bucket, ex.Message);
                    told = true;
                }
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }
        if (store is null)
        {
            return;
        }
        _store.TrySetResult(store);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await WatchAsync(store, set, stoppingToken).ConfigureAwait(false);
                // The watch ends only when its consumer does: start it again, but not in a hot loop.
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Whatever ends the watch is said, and the watch starts again: a bucket never goes quietly deaf.
                LogWatchFailed(Bucket, ex is NatsException or NatsJSException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}");
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task WatchAsync(INatsKVStore store, RuntimeScheduleSet set, CancellationToken stoppingToken)
    {
        // The bucket's content at start arrives first (each value's Delta counts those still to come): it is put in force
        // by one reload; later values one by one.
        var initial = new List<(string Key, string Json, ulong Revision)>();
        var opts = new NatsKVWatchOpts
        {
            // An empty bucket sends nothing: its content (none) is loaded; false keeps the watch open for what comes.
            OnNoData = _ => { MarkLoaded(set, initial); return ValueTask.FromResult(false); },
        };
        await foreach (var entry in store.WatchAsync(Raw, opts, stoppingToken).ConfigureAwait(false))
        {
            string name = RuntimeScheduleSet.NameOfKey(entry.Key);
            if (entry.Operation is NatsKVOperation.Del or NatsKVOperation.Purge)
            {
                set.Apply(entry.Key, null, entry.Revision);
                LogRemoved(name, entry.Revision);
            }
            else if (Decode(entry.Value) is not { } json)
            {
                // Reported by the set (an empty entry) as any value it cannot load.
                set.Apply(entry.Key, "", entry.Revision);
            }
            else if (!_loaded)
            {
                initial.Add((entry.Key, json, entry.Revision));
            }
            else
            {
                set.Apply(entry.Key, json, entry.Revision);
            }
            if (!_loaded && entry.Delta == 0)
            {
                MarkLoaded(set, initial);
            }
        }
    }

    private void MarkLoaded(RuntimeScheduleSet set, List<(string Key, string Json, ulong Revision)> initial)
    {
        if (_loaded)
        {
            return;
        }
        set.ApplyAll(initial);
        _loaded = true;
        LogLoaded(Bucket, set.Entries.Count(e => e.Error is null), set.Entries.Count(e => e.Error is not null));
        initial.Clear();
    }

    private static string? Decode(byte[]? value)
    {
        if (value is null || !System.Text.Unicode.Utf8.IsValid(value))
        {
            return null;
        }
        return Encoding.UTF8.GetString(value);
    }

    private async Task<INatsKVStore> OpenOrCreateAsync(NatsKVContext kv, CancellationToken cancellationToken)
    {
        // A bucket as it exists is used as it is (an operator may have made it R3); a missing one is made.
        try
        {
            return await kv.GetStoreAsync(Bucket, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsKVException)
        {
            return await kv.CreateStoreAsync(new NatsKVConfig(Bucket) { History = 1 }, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            return await kv.CreateStoreAsync(new NatsKVConfig(Bucket) { History = 1 }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>How many of the values not loaded <c>status</c> lists.</summary>
    private const int InvalidListed = 100;

    /// <summary>Said in <c>status</c>: the bucket, whether its content is loaded, and the values not loaded with why.</summary>
    public void WriteStatus(Utf8JsonWriter w, RuntimeScheduleSet set)
    {
        var entries = set.Entries;
        w.WriteStartObject("runtime_schedules");
        w.WriteString("bucket", Bucket);
        w.WriteBoolean("loaded", _loaded);
        w.WriteNumber("schedules", entries.Count(e => e.Error is null));
        // The status is one NATS message: a bucket of thousands of bad values lists the first ones, and says how many.
        var invalid = entries.Where(e => e.Error is not null).ToList();
        w.WriteNumber("invalid_count", invalid.Count);
        w.WriteStartArray("invalid");
        foreach (var e in invalid.Take(InvalidListed))
        {
            w.WriteStartObject();
            w.WriteString("name", e.Name);
            w.WriteString("key", e.Key);
            w.WriteNumber("revision", e.Revision);
            w.WriteString("error", UserText.Escape(e.Error!));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public ValueTask<BucketWrite> CreateAsync(string key, byte[] value, CancellationToken cancellationToken) =>
        WriteAsync(async (store, ct) =>
        {
            var result = await store.TryCreateAsync(key, value, Raw, ct).ConfigureAwait(false);
            return result.Success ? BucketWrite.Stored(result.Value)
                : KvErrors.IsConflict(result.Error) ? BucketWrite.Failed($"the bucket {Bucket} already holds it (written meanwhile by another replica or by hand); use update")
                : BucketWrite.Failed($"the bucket {Bucket} refused it: {result.Error.Message}");
        }, cancellationToken);

    public ValueTask<BucketWrite> PutAsync(string key, byte[] value, CancellationToken cancellationToken) =>
        WriteAsync(async (store, ct) =>
        {
            var result = await store.TryPutAsync(key, value, Raw, ct).ConfigureAwait(false);
            return result.Success ? BucketWrite.Stored(result.Value) : BucketWrite.Failed($"the bucket {Bucket} refused it: {result.Error.Message}");
        }, cancellationToken);

    public ValueTask<BucketWrite> DeleteAsync(string key, CancellationToken cancellationToken) =>
        WriteAsync(async (store, ct) =>
        {
            var result = await store.TryDeleteAsync(key, cancellationToken: ct).ConfigureAwait(false);
            return result.Success ? BucketWrite.Stored(0) : BucketWrite.Failed($"the bucket {Bucket} refused it: {result.Error.Message}");
        }, cancellationToken);

    private async ValueTask<BucketWrite> WriteAsync(Func<INatsKVStore, CancellationToken, Task<BucketWrite>> write, CancellationToken cancellationToken)
    {
        INatsKVStore store;
        try
        {
            store = await _store.Task.WaitAsync(OpenWait, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return BucketWrite.Failed($"the bucket {Bucket} is not open yet (NATS JetStream not reached); try again");
        }
        try
        {
            return await write(store, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or NatsJSException && !cancellationToken.IsCancellationRequested)
        {
            return BucketWrite.Failed($"the bucket {Bucket} could not be written: {ex.Message}");
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "runtime schedules: bucket {Bucket} not reachable yet ({Reason}); retrying")]
    private partial void LogUnavailable(string bucket, string reason);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "runtime schedules: watching bucket {Bucket} failed ({Reason}); retrying")]
    private partial void LogWatchFailed(string bucket, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "runtime schedules: loaded bucket {Bucket}: {Count} schedule(s), {Invalid} not loaded")]
    private partial void LogLoaded(string bucket, int count, int invalid);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "runtime schedule {Name} not loaded: {Error}")]
    public partial void LogRejected(string name, string error);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "runtime schedule {Name} deleted (revision {Revision})")]
    private partial void LogRemoved(string name, ulong revision);
}
