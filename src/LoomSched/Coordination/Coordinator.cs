using System.Text.Json;
using System.Threading.Channels;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Scheduling;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace LoomSched.Daemon.Coordination;

/// <summary>
/// High availability on JetStream (<c>coordination:</c> in the config). <c>leader</c>: replicas on one config elect
/// a leader by a KV lease; only the leader fires, and each slot is claimed in the state bucket so it fires once.
/// <c>state</c>: a single instance keeps its slots in the state bucket to catch up across restarts. Interval
/// grids are anchored to the Unix epoch in both modes, so every replica and every restart agrees on the slots.
/// On taking over (elected, or started in state mode) each schedule re-publishes a slot left <c>claimed</c> and
/// fires missed slots by its <c>catch_up</c> policy.
/// </summary>
internal sealed partial class Coordinator
{
    private readonly SchedulerConfig _config;
    private readonly CoordinationOptions _options;
    private readonly INatsConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly TaskCompletionSource<INatsKVStore> _state = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Of a class, not a tuple: a channel of a reference type shares the code every other such channel has.
    private readonly Channel<PauseRecord> _pauses =
        Channel.CreateUnbounded<PauseRecord>(new UnboundedChannelOptions { SingleReader = true });
    private SchedulerEngine? _engine;
    private volatile PauseRecord? _lastPause; // the last pause or resume queued for recording

    public Coordinator(SchedulerConfig config, INatsConnection connection, TimeProvider time, ILogger log)
    {
        _config = config;
        _options = config.Coordination;
        _connection = connection;
        _time = time;
        _log = log;
        InstanceId = $"{Environment.MachineName}-{Environment.ProcessId}-{Random.Shared.Next(0x10000):x4}";
        Gate = new KvSlotGate(_state.Task, null, InstanceId, log);
    }

    public static DateTimeOffset GridAnchor => DateTimeOffset.UnixEpoch;

    public string InstanceId { get; }
    public LeaderLease? Lease { get; private set; }
    public KvSlotGate Gate { get; private set; }

    public string Role => _options.Mode switch
    {
        CoordinationMode.Leader => Lease?.IsLeader == true ? "leader" : "follower",
        CoordinationMode.State => "standalone (state)",
        _ => "standalone",
    };

    /// <summary>Creates the buckets (waiting for NATS) and the lease; call before the engine is built.</summary>
    public void Prepare()
    {
        if (_options.Mode == CoordinationMode.Leader)
        {
            var leaseStore = new TaskCompletionSource<INatsKVStore>(TaskCreationOptions.RunContinuationsAsynchronously);
            // The lease object exists at once so that the gate can ask it; its store arrives with NATS.
            Lease = new LeaderLease(leaseStore.Task, InstanceId, TimeSpan.FromSeconds(_options.LeaseTtlSeconds), _time, _log);
            Gate = new KvSlotGate(_state.Task, Lease, InstanceId, _log);
            _leaseStore = leaseStore;
        }
    }

    private TaskCompletionSource<INatsKVStore>? _leaseStore;

    /// <summary>Opens the buckets (retrying while NATS is away), then runs the lease or the state-mode take-over.</summary>
    public async Task RunAsync(SchedulerEngine engine, CancellationToken stoppingToken)
    {
        _engine = engine;
        _ = Task.Run(() => WritePausesAsync(stoppingToken), CancellationToken.None);
        var kv = new NatsKVContext(new NatsJSContext((NatsConnection)_connection));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var state = await OpenOrCreateAsync(kv, new NatsKVConfig(_options.StateBucket) { History = 1 }, stoppingToken).ConfigureAwait(false);
                if (_leaseStore is not null)
                {
                    var lease = await OpenOrCreateAsync(kv, new NatsKVConfig(_options.LeaseBucket)
                    {
                        History = 1,
                        MaxAge = TimeSpan.FromSeconds(_options.LeaseTtlSeconds),
                    }, stoppingToken).ConfigureAwait(false);
                    _leaseStore.TrySetResult(lease);
                }
                _state.TrySetResult(state);
                break;
            }
            catch (Exception ex) when (ex is NatsException or NatsJSException && !stoppingToken.IsCancellationRequested)
            {
                LogBucketsUnavailable(_options.StateBucket, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ConfigureAwait(false);
            }
        }
        if (Lease is { } leaseHolder)
        {
            // Fires wait at the gate from the won lease until the catch-ups are queued (a follower's are refused).
            leaseHolder.Electing += async ct =>
            {
                _waitingSince = _time.GetUtcNow();
                Gate.Close();
                try
                {
                    _plan = await PlanAsync(ct).ConfigureAwait(false);
                }
                catch
                {
                    Gate.Open(static (_, _) => false); // not leader after all: the fires that waited are refused as a follower's
                    throw;
                }
            };
            leaseHolder.Elected += ct =>
            {
                TakeOver(CatchUps(_plan));
                return Task.CompletedTask;
            };
            await leaseHolder.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        else
        {
            // Closed from the start: every slot of this process waits for the take-over.
            _waitingSince = engine.StartedAt;
            TakeOver(CatchUps(await PlanAsync(stoppingToken).ConfigureAwait(false)));
        }
    }

    /// <summary>
    /// Queues the catch-ups while the gate is still closed — behind the fire of a schedule that waits at the gate, or
    /// as a run of its own whose first fire waits there too — then opens it, each fire that waited asking
    /// <see cref="Held"/>.
    /// </summary>
    private void TakeOver(List<(string Schedule, TakeOverPlan Plan)> plans)
    {
        var paused = PausedNow();
        var catchUps = new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
        foreach (var (schedule, plan) in plans)
        {
            if (plan.Slots.Count > 0)
            {
                catchUps[schedule] = [.. plan.Slots];
            }
            _engine!.TakeOver(schedule, plan);
        }
        Gate.Open((schedule, slot) => Held(catchUps, paused, schedule, slot));
    }

    private HashSet<string> PausedNow() =>
        _engine!.Status().Schedules.Where(s => s.Paused).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Whether a fire that waited for the take-over goes unclaimed: one of a schedule the take-over found
    /// paused, and one of a schedule with slots to catch up, unless it is that catch-up's own first fire. A schedule
    /// fires one slot at a time: the fire that waited is in flight, with the catch-up and the slots that came due
    /// meanwhile queued behind it. Claimed first, it would leave the older slots behind the record, never to go out;
    /// instead its slot joins that queue, in order.
    /// </summary>
    private bool Held(Dictionary<string, List<DateTimeOffset>> catchUps, HashSet<string> paused, string schedule, DateTimeOffset slot)
    {
        if (paused.Contains(schedule))
        {
            return true;
        }
        if (!catchUps.TryGetValue(schedule, out var slots) || slot == slots[0])
        {
            return false;
        }
        if (slot > slots[^1])
        {
            _engine!.CatchUp(schedule, [slot]); // due after the catch-up was planned: it joins the queue too
        }
        return true;
    }

    private IReadOnlyList<(ScheduleDefinition Schedule, SlotRecord? Record)> _plan = [];

    // Slots up to here were missed while nothing ran; later ones wait at the gate and are this process's to decide.
    private DateTimeOffset _waitingSince;

    /// <summary>
    /// Uses a bucket as it exists (an operator may have made it R3 on a cluster, or set other limits), and
    /// creates it with these settings only when it is missing.
    /// </summary>
    private static async Task<INatsKVStore> OpenOrCreateAsync(NatsKVContext kv, NatsKVConfig config, CancellationToken cancellationToken)
    {
        try
        {
            return await kv.GetStoreAsync(config.Bucket, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsKVException)
        {
            return await kv.CreateStoreAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            return await kv.CreateStoreAsync(config, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A <c>pause</c> or <c>resume</c> this process carried out (as leader, or standalone with state): recorded in the
    /// state bucket by a writer of its own, in order, so that the next leader (or this instance after a restart) keeps
    /// it. The control reply waits for the record (<see cref="WhenPausesRecorded"/>).
    /// </summary>
    public void RecordPause(string action, string schedule)
    {
        var record = new PauseRecord(schedule, action == "pause");
        _lastPause = record;
        if (!_pauses.Writer.TryWrite(record))
        {
            record.Written.TrySetResult(); // shutting down: nobody records it, nobody waits for it
        }
    }

    /// <summary>
    /// Completes when every pause and resume queued so far is recorded in the state bucket (or given up on): the
    /// control reply waits for it, so that a leader that dies right after saying "paused" has recorded the pause.
    /// </summary>
    public Task WhenPausesRecorded() => _lastPause?.Written.Task ?? Task.CompletedTask;

    private async Task WritePausesAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var record in _pauses.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await RecordAsync(record.Schedule, record.Paused, stoppingToken).ConfigureAwait(false);
                }
                finally
                {
                    record.Written.TrySetResult(); // written, given up on (said), or cut by shutdown
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RecordAsync(string schedule, bool paused, CancellationToken stoppingToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                bounded.CancelAfter(TimeSpan.FromSeconds(5));
                await Gate.RecordPauseAsync(schedule, paused, bounded.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is NatsException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
            {
                if (attempt == 3)
                {
                    LogPauseNotRecorded(paused ? "pause" : "resume", schedule, ex.Message);
                    return;
                }
                await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Reads each schedule's recorded pause and slot, before this process fires anything as owner: a schedule paused
    /// by a previous leader (or before a restart) stays paused, one resumed meanwhile is resumed here. A read the
    /// bucket does not answer (no stream leader, a permission refused) is tried again for <see cref="ReadBudget"/>;
    /// what is still unread then keeps its state here and catches nothing up, and the log says which schedules.
    /// Schedules are read <see cref="ConcurrentReads"/> at a time, so that thousands fit in the budget.
    /// </summary>
    private async Task<IReadOnlyList<(ScheduleDefinition Schedule, SlotRecord? Record)>> PlanAsync(CancellationToken stoppingToken)
    {
        var engine = _engine!;
        var schedules = engine.Config.Schedules;
        var pausedHere = PausedNow();
        var reads = new TakeOverReads(this, _time.GetTimestamp() + (long)(ReadBudget.TotalSeconds * _time.TimestampFrequency), stoppingToken);
        long began = _time.GetTimestamp();
        var records = new (bool Read, SlotRecord? Record)[schedules.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = ConcurrentReads, CancellationToken = stoppingToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, schedules.Count), options, async (i, _) =>
        {
            var schedule = schedules[i];
            bool recorded = false;
            if (await reads.ReadAsync(i, async ct => recorded = await Gate.IsPausedAsync(schedule.Name, ct).ConfigureAwait(false)).ConfigureAwait(false)
                && recorded != pausedHere.Contains(schedule.Name))
            {
                var result = recorded ? engine.Pause(schedule.Name) : engine.Resume(schedule.Name);
                LogPauseTakenOver(schedule.Name, recorded ? "paused" : "resumed", result.Message);
            }
            SlotRecord? record = null;
            if (await reads.ReadAsync(i, async ct => record = await Gate.ReadAsync(schedule.Name, ct).ConfigureAwait(false)).ConfigureAwait(false))
            {
                // Read and found none (or an unreadable one) is a plan too: a one-shot nobody claimed may be due.
                records[i] = (true, record is null || record.Slot == DateTimeOffset.MinValue ? null : record);
            }
        }).ConfigureAwait(false);

        var unread = reads.Unread(schedules);
        LogStateRead(schedules.Count - unread.Count, _time.GetElapsedTime(began).TotalMilliseconds);
        if (unread.Count > 0)
        {
            const int Named = 10;
            string names = string.Join(", ", unread.Take(Named)) + (unread.Count > Named ? $" and {unread.Count - Named} more" : "");
            LogStateNotRead(_options.StateBucket, Seconds(ReadBudget), reads.LastError, $"{unread.Count} schedule(s) take over without it (paused or not as here, no catch-up): {names}");
        }
        var plan = new List<(ScheduleDefinition, SlotRecord?)>();
        for (int i = 0; i < schedules.Count; i++)
        {
            if (records[i].Read)
            {
                plan.Add((schedules[i], records[i].Record));
            }
        }
        return plan;
    }

    /// <summary>State reads in flight at a take-over: each is a round trip, and a KV get costs the server little.</summary>
    private const int ConcurrentReads = 32;

    /// <summary>
    /// How long a take-over tries to read the state bucket. A leader reads within the campaign round it won the lease
    /// in (a third of the TTL), and renews at the end of it: half of that round keeps the renew in time. Standalone,
    /// long enough to ride out a stream leader's election; its fires wait for the take-over meanwhile.
    /// </summary>
    private TimeSpan ReadBudget => Lease is { } lease ? lease.Ttl / 6 : TimeSpan.FromSeconds(10);

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The take-over's reads of the state bucket, from several tasks at once, each retried until a shared deadline;
    /// once one has run out of it, none is tried.
    /// </summary>
    private sealed class TakeOverReads(Coordinator owner, long deadline, CancellationToken stoppingToken)
    {
        private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);
        private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(250);
        /// <summary>Failed schedules named one by one before the summary: an outage fails every read in flight.</summary>
        private const int FailuresSaid = 3;
        private volatile bool _spent;
        private volatile string _lastError = "";
        private int _failuresSaid;
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> _unread = new();

        public string LastError => _lastError;

        /// <summary>The schedules with a record left unread, in config order.</summary>
        public List<string> Unread(IReadOnlyList<ScheduleDefinition> schedules) =>
            [.. _unread.Keys.Order().Select(i => schedules[i].Name)];

        private TimeSpan Left() => owner._time.GetElapsedTime(owner._time.GetTimestamp(), deadline);

        /// <summary>True once <paramref name="read"/> of the schedule at <paramref name="index"/> has completed; false when the budget ran out first.</summary>
        public async Task<bool> ReadAsync(int index, Func<CancellationToken, Task> read)
        {
            for (int attempt = 0; !_spent && Left() is var left && left > TimeSpan.Zero; attempt++)
            {
                using (var bounded = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    bounded.CancelAfter(left < AttemptTimeout ? left : AttemptTimeout);
                    try
                    {
                        await read(bounded.Token).ConfigureAwait(false);
                        return true;
                    }
                    catch (Exception ex) when (ex is NatsException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
                    {
                        _lastError = ex is OperationCanceledException ? "no answer" : ex.Message;
                    }
                }
                if (attempt == 0 && Interlocked.Increment(ref _failuresSaid) <= FailuresSaid)
                {
                    owner.LogStateReadFailed(owner._engine!.Config.Schedules[index].Name, _lastError, Seconds(owner.ReadBudget));
                }
                if (Left() <= RetryPause)
                {
                    break;
                }
                await Task.Delay(RetryPause, owner._time, stoppingToken).ConfigureAwait(false);
            }
            _spent = true;
            _unread.TryAdd(index, true);
            return false;
        }
    }

    /// <summary>
    /// What each schedule does on taking over (<see cref="CatchUpPlanner.TakeOver"/>): the slot a previous owner left
    /// claimed (re-published), those missed since the recorded one up to now by its <c>catch_up</c> policy — which
    /// includes any slot that came while the take-over ran; the gate keeps it from firing twice — and a one-shot whose
    /// instant came here while nobody led; the slots missed while nothing ran are counted. A paused schedule misses
    /// its slots (resume does not catch them up either); a slot its previous owner had claimed before the pause still
    /// goes out.
    /// </summary>
    private List<(string Schedule, TakeOverPlan Plan)> CatchUps(IReadOnlyList<(ScheduleDefinition Schedule, SlotRecord? Record)> plan)
    {
        var now = _time.GetUtcNow();
        var here = _engine!.Status().Schedules.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var plans = new List<(string, TakeOverPlan)>();
        foreach (var (schedule, record) in plan)
        {
            var status = here.GetValueOrDefault(schedule.Name);
            var takeOver = CatchUpPlanner.TakeOver(
                schedule.Trigger, GridAnchor, record?.Slot, record is { Phase: SlotRecord.Claimed } r && r.By != InstanceId,
                status?.LastDue, status?.Paused == true, now, schedule.CatchUp ?? _config.CatchUp, _waitingSince);
            if (takeOver.Slots.Count > 0 || takeOver.Missed is not null)
            {
                plans.Add((schedule.Name, takeOver));
            }
        }
        return plans;
    }

    /// <summary>Writes the coordination part of <c>status</c>.</summary>
    public void WriteStatus(Utf8JsonWriter w)
    {
        w.WriteStartObject("coordination");
        w.WriteString("mode", _options.Mode.ToString().ToLowerInvariant());
        w.WriteString("role", Role);
        w.WriteString("instance", InstanceId);
        if (Lease is { } lease)
        {
            var (holder, expires) = lease.Holder;
            if (holder is null)
            {
                w.WriteNull("lease_holder");
            }
            else
            {
                w.WriteString("lease_holder", holder);
            }
            if (expires is { } e)
            {
                w.WriteString("lease_expires", LoomTime.Format(e));
            }
            else
            {
                w.WriteNull("lease_expires");
            }
        }
        w.WriteStartObject("slots");
        foreach (var (name, record) in Gate.Known.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject(name);
            w.WriteString("slot", LoomTime.Format(record.Slot));
            w.WriteString("phase", record.Phase);
            w.WriteString("by", record.By);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Why this replica refuses a control action (a follower), or null.</summary>
    public string? Refusal(string action) =>
        Lease is { IsLeader: false } lease
            ? $"this replica ({InstanceId}) is a follower; \"{action}\" is for the leader ({lease.Holder.Holder ?? "none elected yet"}), which answers too"
            : null;

    public Task ReleaseAsync() => Lease?.ReleaseAsync() ?? Task.CompletedTask;

    [LoggerMessage(EventId = 80, Level = LogLevel.Warning, Message = "coordination: buckets not available yet ({Bucket}): {Reason}; retrying")]
    private partial void LogBucketsUnavailable(string bucket, string reason);

    [LoggerMessage(EventId = 81, Level = LogLevel.Warning,
        Message = "coordination: the {Action} of {Schedule} is not recorded in the state bucket ({Reason}); it holds here, but the next leader or a restart will not know of it")]
    private partial void LogPauseNotRecorded(string action, string schedule, string reason);

    [LoggerMessage(EventId = 83, Level = LogLevel.Warning,
        Message = "coordination: the state of {Schedule} could not be read ({Reason}); trying again for up to {Budget} s")]
    private partial void LogStateReadFailed(string schedule, string reason, string budget);

    [LoggerMessage(EventId = 84, Level = LogLevel.Warning,
        Message = "coordination: the state bucket {Bucket} could not be read within {Budget} s ({Reason}); {Schedules}")]
    private partial void LogStateNotRead(string bucket, string budget, string reason, string schedules);

    [LoggerMessage(EventId = 85, Level = LogLevel.Debug, Message = "coordination: the state of {Count} schedule(s) read in {Ms:0.#} ms")]
    private partial void LogStateRead(int count, double ms);

    [LoggerMessage(EventId = 82, Level = LogLevel.Information, Message = "coordination: {Schedule} is {State} as the state bucket records ({Result})")]
    private partial void LogPauseTakenOver(string schedule, string state, string result);

    /// <summary>A <c>pause</c> (<see cref="Paused"/> true) or <c>resume</c> to record in the state bucket.</summary>
    private sealed class PauseRecord(string schedule, bool paused)
    {
        public string Schedule { get; } = schedule;
        public bool Paused { get; } = paused;

        /// <summary>Completed once the record is written, given up on, or abandoned at shutdown.</summary>
        public TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

}
