using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LoomSched.Config;
using LoomSched.Control;
using LoomSched.Dispatch;
using LoomSched.Scheduling;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;

namespace LoomSched.Daemon.Coordination;

/// <summary>A schedule's last slot in the state bucket, and how far it got.</summary>
internal sealed record SlotRecord(DateTimeOffset Slot, string Phase, string By, ulong Revision)
{
    public const string Claimed = "claimed";
    public const string Done = "done";
}

/// <summary>
/// Exactly-once per slot through a JetStream KV state bucket: one key per schedule holds its last slot and
/// phase. A fire claims its slot by compare-and-set (<c>claimed</c>), publishes, then marks it <c>done</c>. A
/// slot that is done, or older than the recorded one, is never fired again; a slot another process left
/// <c>claimed</c> may be re-published (JetStream drops the duplicate by <c>Nats-Msg-Id</c>).
/// </summary>
internal sealed partial class KvSlotGate(Task<INatsKVStore> store, LeaderLease? lease, string instanceId, ILogger log) : ISlotGate
{
    // Complete (open) except while a take-over reads the slot state and queues its catch-ups: in state mode from the
    // start, in leader mode while this process takes the lease over.
    private volatile TaskCompletionSource _takeOver = NewTakeOver(open: lease is not null);
    private Func<string, DateTimeOffset, bool> _held = static (_, _) => false;

    private static TaskCompletionSource NewTakeOver(bool open)
    {
        var takeOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            takeOver.SetResult();
        }
        return takeOver;
    }

    /// <summary>Closes the gate for a take-over (a new leader's): fires wait until <see cref="Open"/>.</summary>
    public void Close()
    {
        if (_takeOver.Task.IsCompleted)
        {
            _takeOver = NewTakeOver(open: false);
        }
    }

    /// <summary>
    /// Opens the gate once the take-over has read the slot state and queued its catch-ups (until then, fires wait, so
    /// that none of them can overtake what the take-over reads). Each fire that waited asks <paramref name="held"/>
    /// whether to go unclaimed: a pause the take-over found stops it, or the take-over's catch-up fires its slot in
    /// order with the slots before it (claimed first, it would leave those older than the record, never to go out).
    /// </summary>
    public void Open(Func<string, DateTimeOffset, bool> held)
    {
        _held = held;
        _takeOver.TrySetResult();
    }

    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;
    private readonly ConcurrentDictionary<string, SlotRecord> _known = new(StringComparer.Ordinal);

    /// <summary>A claim or completion that takes longer (a cluster electing a stream leader) gives up.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public bool MayPublish => lease?.IsLeader ?? true;

    /// <summary>What this process last saw per schedule (for status).</summary>
    public IReadOnlyDictionary<string, SlotRecord> Known => _known;

    /// <summary>How long an undecided claim (no answer, or an error of the state bucket) is tried again.</summary>
    private static readonly TimeSpan UndecidedFor = TimeSpan.FromSeconds(30);

    public async ValueTask<bool> TryClaimAsync(ScheduleDefinition schedule, DateTimeOffset slot, CancellationToken cancellationToken)
    {
        // During a take-over fires wait for it rather than go unrecorded (state mode) or unclaimed (a new leader).
        var takeOver = _takeOver;
        if (!takeOver.Task.IsCompleted)
        {
            await takeOver.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (_held(schedule.Name, slot))
            {
                return false;
            }
        }
        if (!MayPublish || (lease is not null && !store.IsCompletedSuccessfully))
        {
            return false;
        }
        var kv = await store.WaitAsync(cancellationToken).ConfigureAwait(false);
        // A state bucket that does not answer (its replicas electing a leader after a node loss) leaves the claim
        // undecided: it is tried again while this process may publish, and the slots that come meanwhile wait in
        // the engine (catch-up policy) instead of being lost. A retry that finds this process's own claim of the
        // slot (the first attempt did land) takes it.
        var giveUp = DateTime.UtcNow + UndecidedFor;
        for (int attempt = 0; ; attempt++)
        {
            if (await ClaimOnceAsync(kv, schedule, slot, retry: attempt > 0, cancellationToken).ConfigureAwait(false) is { } decided)
            {
                return decided;
            }
            if (!MayPublish || DateTime.UtcNow > giveUp)
            {
                LogStateError(schedule.Name, $"the claim of {LoomTime.Format(slot)} stayed undecided; the slot is left to the next owner's catch-up");
                return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One claim attempt: true or false when decided, null when the state bucket gave no answer.</summary>
    private async Task<bool?> ClaimOnceAsync(INatsKVStore kv, ScheduleDefinition schedule, DateTimeOffset slot, bool retry, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Timeout);
        var outer = cancellationToken;
        cancellationToken = bounded.Token;
        try
        {
            SlotRecord? current;
            try
            {
                current = await ReadAsync(schedule.Name, cancellationToken).ConfigureAwait(false);
            }
            catch (StateUnreadableException)
            {
                // Written as if there were no record: where there is one, the bucket refuses the create, and the
                // stream leader's record decides (below).
                current = null;
            }
            // A read may come from a replica that lags (direct gets on a clustered bucket): this process's own
            // last write, when newer, is the truth to compare-and-set against.
            if (_known.TryGetValue(schedule.Name, out var mine) && mine.By == instanceId && (current is null || mine.Revision > current.Revision))
            {
                current = mine;
            }
            if (retry && current is { } own && own.Slot == slot && own.Phase == SlotRecord.Claimed && own.By == instanceId)
            {
                _known[schedule.Name] = own;
                return MayPublish;
            }
            if (current is not null && !Claimable(current, slot))
            {
                return false;
            }
            var value = Encode(slot, SlotRecord.Claimed);
            var result = current is null
                ? await kv.TryCreateAsync(KeyOf(schedule.Name), value, Raw, cancellationToken).ConfigureAwait(false)
                : await kv.TryUpdateAsync(KeyOf(schedule.Name), value, current.Revision, Raw, cancellationToken).ConfigureAwait(false);
            if (!result.Success && KvErrors.IsConflict(result.Error))
            {
                if (await ReadFromLeaderAsync(kv, schedule.Name, cancellationToken).ConfigureAwait(false) is not { } fresh)
                {
                    // The compare-and-set was refused, but the stream leader cannot say by what (a leader being
                    // elected): whether another replica has the slot is not known, so the claim is undecided.
                    return Undecided(schedule, slot, retry, "the bucket refused the claim and its leader did not say why");
                }
                if (retry && fresh.Slot == slot && fresh.Phase == SlotRecord.Claimed && fresh.By == instanceId)
                {
                    // An earlier attempt of this claim did land (its answer was lost) and the read above came from a
                    // replica that had not seen it yet: the claim is this process's.
                    _known[schedule.Name] = fresh;
                    return MayPublish;
                }
                if (!Claimable(fresh, slot))
                {
                    // The leader's record explains the refusal: a newer slot, or this slot claimed or done by another.
                    LogClaimLost(schedule.Name, LoomTime.Format(slot));
                    return false;
                }
                // The compare-and-set went against a stale view (a lagging replica's read, or the bucket's own record
                // of the last revision moved under a leader change): the stream leader's view decides.
                result = await kv.TryUpdateAsync(KeyOf(schedule.Name), value, fresh.Revision, Raw, cancellationToken).ConfigureAwait(false);
            }
            if (!result.Success)
            {
                // Not a compare-and-set the leader's record explains: the bucket did not take the write (no stream
                // leader, a limit of its stream), or refused it against the very revision its leader reported (a
                // record moving under an election, or another replica's claim a moment ago, which the next attempt
                // reads). Nobody is known to have the slot: the claim is undecided.
                return Undecided(schedule, slot, retry, KvErrors.IsConflict(result.Error)
                    ? "the bucket refused it against the revision its leader reported"
                    : result.Error.Message);
            }
            _known[schedule.Name] = new SlotRecord(slot, SlotRecord.Claimed, instanceId, result.Value);
            // A leader that lapsed while it claimed must not publish: the lease decides, checked once more.
            return MayPublish;
        }
        catch (NatsException ex)
        {
            return Undecided(schedule, slot, retry, ex.Message);
        }
        catch (OperationCanceledException) when (!outer.IsCancellationRequested)
        {
            return Undecided(schedule, slot, retry, $"no answer within {Timeout.TotalSeconds:0} s");
        }
    }

    /// <summary>A claim neither won nor lost: said once per slot (its first attempt), and tried again.</summary>
    private bool? Undecided(ScheduleDefinition schedule, DateTimeOffset slot, bool retry, string why)
    {
        if (!retry)
        {
            LogStateError(schedule.Name, $"the claim of {LoomTime.Format(slot)} is undecided ({why}); trying again");
        }
        return null;
    }

    public async ValueTask CompleteAsync(ScheduleDefinition schedule, DateTimeOffset slot, CancellationToken cancellationToken)
    {
        if (!_known.TryGetValue(schedule.Name, out var claim) || claim.Slot != slot || !store.IsCompletedSuccessfully)
        {
            return;
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Timeout);
        try
        {
            var kv = store.Result;
            var value = Encode(slot, SlotRecord.Done);
            var result = await kv.TryUpdateAsync(KeyOf(schedule.Name), value, claim.Revision, Raw, bounded.Token).ConfigureAwait(false);
            if (!result.Success
                && await ReadFromLeaderAsync(kv, schedule.Name, bounded.Token).ConfigureAwait(false) is { } fresh
                && fresh.Slot == slot && fresh.Phase == SlotRecord.Claimed && fresh.By == instanceId && fresh.Revision != claim.Revision)
            {
                // Our claim stands, under a revision we were not told (see TryClaimAsync).
                result = await kv.TryUpdateAsync(KeyOf(schedule.Name), value, fresh.Revision, Raw, bounded.Token).ConfigureAwait(false);
            }
            if (result.Success)
            {
                _known[schedule.Name] = claim with { Phase = SlotRecord.Done, Revision = result.Value };
            }
            else if (KvErrors.IsConflict(result.Error))
            {
                LogClaimLost(schedule.Name, LoomTime.Format(slot));
            }
            else
            {
                LogStateError(schedule.Name, $"marking {LoomTime.Format(slot)} done failed ({result.Error.Message}); it stays claimed by this process");
            }
        }
        catch (NatsException ex)
        {
            LogStateError(schedule.Name, ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogStateError(schedule.Name, $"marking {LoomTime.Format(slot)} done got no answer within {Timeout.TotalSeconds:0} s; a new owner re-publishes it");
        }
    }

    /// <summary>Whether this process may claim <paramref name="slot"/> over the record <paramref name="current"/>.</summary>
    private bool Claimable(SlotRecord current, DateTimeOffset slot)
    {
        bool mineInFlight = current.Slot == slot && current.Phase == SlotRecord.Claimed && current.By == instanceId;
        return !(current.Slot > slot || (current.Slot == slot && current.Phase == SlotRecord.Done) || mineInFlight);
    }

    /// <summary>
    /// The schedule's record as the bucket's stream leader has it (the JetStream API's message get, which the leader
    /// answers; not a direct get, which any replica may answer). Null when it cannot tell.
    /// </summary>
    private async Task<SlotRecord?> ReadFromLeaderAsync(INatsKVStore kv, string schedule, CancellationToken cancellationToken)
    {
        try
        {
            var request = Encoding.UTF8.GetBytes($"{{\"last_by_subj\":\"$KV.{kv.Bucket}.{KeyOf(schedule)}\"}}");
            var reply = await kv.JetStreamContext.Connection.RequestAsync<byte[], byte[]>(
                    $"$JS.API.STREAM.MSG.GET.KV_{kv.Bucket}", request, requestSerializer: Raw, replySerializer: Raw,
                    cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            if (reply.Data is not { } data)
            {
                return null;
            }
            using var doc = JsonDocument.Parse(data);
            if (!doc.RootElement.TryGetProperty("message", out var message)
                || !message.TryGetProperty("seq", out var seq) || !message.TryGetProperty("data", out var body))
            {
                return null;
            }
            return Decode(schedule, body.GetBytesFromBase64(), seq.GetUInt64());
        }
        catch (Exception ex) when (ex is NatsException or JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// The schedule's record in the bucket, or null when it has none (it never fired, or the key was deleted).
    /// Throws <see cref="StateUnreadableException"/> when the bucket did not say (see <see cref="KvErrors.IsAbsent"/>).
    /// </summary>
    public async Task<SlotRecord?> ReadAsync(string schedule, CancellationToken cancellationToken)
    {
        var kv = await store.ConfigureAwait(false);
        var entry = await kv.TryGetEntryAsync(KeyOf(schedule), 0, Raw, cancellationToken).ConfigureAwait(false);
        if (!Holds(entry) || entry.Value.Value is not { } value)
        {
            return null;
        }
        var record = Decode(schedule, value, entry.Value.Revision);
        _known.AddOrUpdate(schedule, record, (_, known) => known.Revision > record.Revision ? known : record);
        return record;
    }

    private SlotRecord Decode(string schedule, byte[] value, ulong revision)
    {
        try
        {
            using var doc = JsonDocument.Parse(value);
            var root = doc.RootElement;
            return new SlotRecord(
                DateTimeOffset.Parse(root.GetProperty("slot").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
                root.GetProperty("phase").GetString()!,
                root.TryGetProperty("by", out var by) ? by.GetString() ?? "" : "",
                revision);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            LogStateError(schedule, $"unreadable state record ({ex.Message}); it will be overwritten by the next fire");
            return new SlotRecord(DateTimeOffset.MinValue, SlotRecord.Done, "", revision);
        }
    }

    private byte[] Encode(DateTimeOffset slot, string phase)
    {
        var buffer = new ArrayBufferWriter<byte>(96);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("slot", LoomTime.Format(slot));
            w.WriteString("phase", phase);
            w.WriteString("by", instanceId);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Records a pause of <paramref name="schedule"/> in the state bucket (key <c>paused.{name}</c>), or lifts it
    /// (deletes the key): the leader after it, or this instance after a restart, keeps the schedule as it is now.
    /// </summary>
    public async Task RecordPauseAsync(string schedule, bool paused, CancellationToken cancellationToken)
    {
        var kv = await store.ConfigureAwait(false);
        if (paused)
        {
            await kv.PutAsync(PauseKeyOf(schedule), "1"u8.ToArray(), Raw, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await kv.DeleteAsync(PauseKeyOf(schedule), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// True when the state bucket records <paramref name="schedule"/> as paused. Throws
    /// <see cref="StateUnreadableException"/> when the bucket did not say.
    /// </summary>
    public async Task<bool> IsPausedAsync(string schedule, CancellationToken cancellationToken)
    {
        var kv = await store.ConfigureAwait(false);
        return Holds(await kv.TryGetEntryAsync(PauseKeyOf(schedule), 0, Raw, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// True when the read found a value put; false when the key has none (never put, or deleted). Throws
    /// <see cref="StateUnreadableException"/> when the bucket did not say.
    /// </summary>
    private static bool Holds(NatsResult<NatsKVEntry<byte[]>> entry) =>
        entry.Success ? entry.Value.Operation == NatsKVOperation.Put
        : KvErrors.IsAbsent(entry.Error) ? false
        : throw new StateUnreadableException(entry.Error);

    internal static string PauseKeyOf(string schedule) => KeyOf(schedule, "paused.");

    /// <summary>A schedule's key: the prefix, then the name escaped as run-time schedules' keys are (<see cref="RuntimeScheduleSet.KeyOf"/>).</summary>
    internal static string KeyOf(string schedule, string prefix = "schedule.") => prefix + RuntimeScheduleSet.KeyOf(schedule);

    [LoggerMessage(EventId = 70, Level = LogLevel.Information, Message = "slot {Schedule} {Slot} belongs to another replica (compare-and-set lost)")]
    private partial void LogClaimLost(string schedule, string slot);

    [LoggerMessage(EventId = 71, Level = LogLevel.Warning, Message = "slot state of {Schedule}: {Reason}")]
    private partial void LogStateError(string schedule, string reason);
}

/// <summary>A read of the state bucket that got neither a record nor its absence: whether one exists is not known.</summary>
internal sealed class StateUnreadableException(Exception error) : NatsException(error.Message, error);
