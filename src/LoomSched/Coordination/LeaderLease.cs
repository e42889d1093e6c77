using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;

namespace LoomSched.Daemon.Coordination;

/// <summary>
/// One leader among replicas, from a JetStream KV lease. The bucket's <c>MaxAge</c> is the lease TTL, so a dead
/// leader's key ages out. Acquire with <c>Create</c>; renew with <c>Update</c> on the last revision every TTL/3;
/// step down at once when a renew loses the compare-and-set, or when a local monotonic deadline passes without
/// a successful renew (a frozen or partitioned leader stops by itself before its key can expire; a renew not
/// answered, or not taken by the bucket, is tried again meanwhile); release with a revision-checked delete on
/// shutdown. Leadership comes only from compare-and-set results, never a read.
/// </summary>
internal sealed partial class LeaderLease(Task<INatsKVStore> store, string instanceId, TimeSpan ttl, TimeProvider time, ILogger log)
{
    public const string Key = "leader";
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    private readonly Lock _gate = new();
    private ulong _revision;
    private bool _leader;
    private long _deadline; // TimeProvider timestamp after which this process no longer trusts its lease

    /// <summary>
    /// Raised when this process has won the lease, before it acts as leader: what it reads here (the slot state)
    /// cannot be overtaken by its own fires.
    /// </summary>
    public event Func<CancellationToken, Task>? Electing;

    /// <summary>Raised once this process acts as leader.</summary>
    public event Func<CancellationToken, Task>? Elected;

    public string InstanceId => instanceId;
    public TimeSpan Ttl => ttl;

    /// <summary>True while this process holds the lease and its local deadline has not passed.</summary>
    public bool IsLeader
    {
        get
        {
            lock (_gate)
            {
                return _leader && time.GetTimestamp() < _deadline;
            }
        }
    }

    /// <summary>The holder last seen (this process when leader), and when its lease ends at the latest.</summary>
    public (string? Holder, DateTimeOffset? Expires) Holder { get; private set; }

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var period = ttl / 3;
        while (!stoppingToken.IsCancellationRequested)
        {
            // A request that hangs (a cluster electing a stream leader) must not keep the lease loop from noticing
            // that its deadline passed: each round gets one period at most.
            using var round = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            round.CancelAfter(period);
            try
            {
                if (IsLeader)
                {
                    await RenewAsync(round.Token).ConfigureAwait(false);
                }
                else
                {
                    StepDownIfLapsed();
                    await CampaignAsync(round.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
            {
                StepDownIfLapsed();
                LogLeaseError(ex is OperationCanceledException ? $"no answer within {period.TotalSeconds:0.#} s" : ex.Message);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            // Followers add jitter so that replicas do not campaign in lockstep.
            var wait = IsLeader ? period : period + TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)(period.TotalMilliseconds / 2) + 1));
            try
            {
                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Gives the lease up (revision-checked) so that a follower takes over without waiting for the TTL.</summary>
    public async Task ReleaseAsync()
    {
        ulong revision;
        lock (_gate)
        {
            if (!_leader)
            {
                return;
            }
            _leader = false;
            revision = _revision;
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            if (!store.IsCompletedSuccessfully)
            {
                return;
            }
            var result = await store.Result.TryDeleteAsync(Key, new NatsKVDeleteOpts { Revision = revision }, timeout.Token).ConfigureAwait(false);
            if (result.Success)
            {
                LogReleased();
            }
            else
            {
                // Refused, as when the key changed since the last renew (it is no longer this instance's): the error says why.
                LogNotReleased(result.Error.Message);
            }
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException)
        {
            LogLeaseError(ex.Message);
        }
    }

    private async Task CampaignAsync(CancellationToken stoppingToken)
    {
        var kv = await store.ConfigureAwait(false);
        long started = time.GetTimestamp();
        var created = await kv.TryCreateAsync(Key, System.Text.Encoding.UTF8.GetBytes(instanceId), Raw, stoppingToken).ConfigureAwait(false);
        if (created.Success)
        {
            if (Electing is { } electing)
            {
                await electing(stoppingToken).ConfigureAwait(false);
            }
            lock (_gate)
            {
                _leader = true;
                _revision = created.Value;
                _deadline = started + Margin(started);
            }
            Holder = (instanceId, time.GetUtcNow() + ttl);
            LogElected(instanceId, ttl.TotalSeconds);
            if (Elected is { } elected)
            {
                await elected(stoppingToken).ConfigureAwait(false);
            }
            return;
        }
        var entry = await kv.TryGetEntryAsync(Key, 0, Raw, stoppingToken).ConfigureAwait(false);
        Holder = entry.Success && entry.Value.Operation == NatsKVOperation.Put
            ? (System.Text.Encoding.UTF8.GetString(entry.Value.Value ?? []), entry.Value.Created + ttl)
            : (null, null);
    }

    private async Task RenewAsync(CancellationToken stoppingToken)
    {
        var kv = await store.ConfigureAwait(false);
        long started = time.GetTimestamp();
        ulong revision;
        lock (_gate)
        {
            revision = _revision;
        }
        var updated = await kv.TryUpdateAsync(Key, System.Text.Encoding.UTF8.GetBytes(instanceId), revision, Raw, stoppingToken).ConfigureAwait(false);
        if (!updated.Success && !KvErrors.IsConflict(updated.Error))
        {
            // The bucket did not take the renew (no stream leader during an election, a limit of its stream): nobody
            // else has the lease for it. As with no answer, this process leads on until its deadline and tries again.
            StepDownIfLapsed();
            LogLeaseError($"the renew was not taken ({updated.Error.Message}); leading on until the lease lapses");
            return;
        }
        lock (_gate)
        {
            if (updated.Success && _leader)
            {
                _revision = updated.Value;
                _deadline = started + Margin(started);
                Holder = (instanceId, time.GetUtcNow() + ttl);
                return;
            }
            _leader = false;
        }
        LogLostLease(instanceId);
    }

    // The server's TTL counts from when it stored the write, which is after the request left: trusting the
    // lease for 90 % of the TTL from before the request keeps this process's view strictly inside the server's.
    private long Margin(long started) =>
        (long)(ttl.TotalSeconds * 0.9 * time.TimestampFrequency);

    private void StepDownIfLapsed()
    {
        lock (_gate)
        {
            if (_leader && time.GetTimestamp() >= _deadline)
            {
                _leader = false;
                LogLapsed(instanceId);
            }
        }
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "leader: {Instance} holds the lease (ttl {Ttl} s)")]
    private partial void LogElected(string instance, double ttl);

    [LoggerMessage(EventId = 61, Level = LogLevel.Warning, Message = "follower: {Instance} lost the lease (its renew lost the compare-and-set)")]
    private partial void LogLostLease(string instance);

    [LoggerMessage(EventId = 62, Level = LogLevel.Warning, Message = "follower: {Instance} stepped down, its lease lapsed without a renew")]
    private partial void LogLapsed(string instance);

    [LoggerMessage(EventId = 63, Level = LogLevel.Information, Message = "lease released")]
    private partial void LogReleased();

    [LoggerMessage(EventId = 65, Level = LogLevel.Information, Message = "lease not released ({Reason}); a follower takes over once the lease's ttl runs out")]
    private partial void LogNotReleased(string reason);

    [LoggerMessage(EventId = 64, Level = LogLevel.Warning, Message = "lease: {Reason}")]
    private partial void LogLeaseError(string reason);
}
