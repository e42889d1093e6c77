using System.Globalization;
using System.Text;
using LoomSched.Config;
using LoomSched.Expansion;
using LoomSched.Scheduling;

namespace LoomSched.Control;

/// <summary>The outcome of a write to the bucket of run-time schedules.</summary>
/// <param name="Ok">True when the bucket stored it.</param>
/// <param name="Revision">The revision it was stored at (0 when not stored).</param>
/// <param name="Error">Why not, as a sentence.</param>
public readonly record struct BucketWrite(bool Ok, ulong Revision, string? Error)
{
    /// <summary>Stored at <paramref name="revision"/>.</summary>
    public static BucketWrite Stored(ulong revision) => new(true, revision, null);

    /// <summary>Not stored, for <paramref name="error"/>.</summary>
    public static BucketWrite Failed(string error) => new(false, 0, error);
}

/// <summary>The store of run-time schedules (a JetStream KV bucket in the daemon): key = escaped name, value = entry JSON.</summary>
public interface IScheduleBucket
{
    /// <summary>Stores a new key; fails when the key already holds a value.</summary>
    ValueTask<BucketWrite> CreateAsync(string key, byte[] value, CancellationToken cancellationToken);

    /// <summary>Replaces the value of a key.</summary>
    ValueTask<BucketWrite> PutAsync(string key, byte[] value, CancellationToken cancellationToken);

    /// <summary>Deletes a key.</summary>
    ValueTask<BucketWrite> DeleteAsync(string key, CancellationToken cancellationToken);
}

/// <summary>A run-time schedule as <c>list</c> and <c>status</c> show it.</summary>
/// <param name="Name">The schedule's name (from its key).</param>
/// <param name="Key">Its key in the bucket.</param>
/// <param name="Json">The stored entry.</param>
/// <param name="Revision">The bucket's revision of it.</param>
/// <param name="Error">Why it is not loaded (invalid, or its name is a file schedule's), or null when it runs.</param>
public sealed record RuntimeEntry(string Name, string Key, string Json, ulong Revision, string? Error)
{
    internal ScheduleDefinition? Definition { get; init; }
}

/// <summary>The reply to a run-time action: ok with a message, or an error with the entry's messages.</summary>
public sealed record RuntimeOutcome(bool Ok, string Message, IReadOnlyList<string> Errors)
{
    internal static RuntimeOutcome Done(string message) => new(true, message, []);

    internal static RuntimeOutcome Refused(string message, IReadOnlyList<string>? errors = null) => new(false, message, errors ?? []);
}

/// <summary>
/// The schedules made at run time, beside the config file's: what the bucket holds (each value validated by
/// <see cref="EntryLoader"/>), merged with the file's schedules and put in force through
/// <see cref="SchedulerEngine.Reload"/>, which keeps unchanged schedules' slots and counters: at start all at once,
/// and with the file; a later value changes its own schedule alone (<see cref="SchedulerEngine.Change"/>). File schedules are
/// read-only here, and a name may not be both a file's and a run-time schedule's: the file's wins, and the bucket's
/// entry is reported as not loaded.
/// </summary>
public sealed class RuntimeScheduleSet
{
    /// <summary>How many of an invalid entry's errors its one-line reason names.</summary>
    private const int ErrorsShown = 3;

    private readonly Lock _gate = new();
    private readonly SchedulerEngine _engine;
    private readonly IExpansionRegistry? _registry;
    private readonly IScheduleBucket _bucket;
    // By key, not name: two keys can stand for one name (one written by hand, not escaped), and neither may hide the other.
    private readonly SortedDictionary<string, RuntimeEntry> _entries = new(StringComparer.Ordinal);
    private SchedulerConfig _file;

    /// <summary>Creates the set; nothing runs until values arrive (<see cref="Apply"/>) or the file reloads.</summary>
    /// <param name="engine">The engine, running the file's schedules.</param>
    /// <param name="file">The config as the file gives it (its schedules only).</param>
    /// <param name="registry">For <c>expand_from</c>, as for the file's entries.</param>
    /// <param name="bucket">Where schedules are kept.</param>
    public RuntimeScheduleSet(SchedulerEngine engine, SchedulerConfig file, IExpansionRegistry? registry, IScheduleBucket bucket)
    {
        _engine = engine;
        _file = file;
        _registry = registry;
        _bucket = bucket;
    }

    /// <summary>Told when a value in the bucket is not loaded: (name, why).</summary>
    public Action<string, string>? Rejected { get; init; }

    /// <summary>The entries, by name.</summary>
    public IReadOnlyList<RuntimeEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>The file's config as last loaded.</summary>
    public SchedulerConfig File
    {
        get
        {
            lock (_gate)
            {
                return _file;
            }
        }
    }

    /// <summary>A new file config (SIGHUP, reload): in force with the run-time schedules kept.</summary>
    public ReloadSummary ApplyFile(SchedulerConfig file)
    {
        lock (_gate)
        {
            _file = file;
            // Names the file now takes (or gave back) change which entries load.
            foreach (var entry in _entries.Values.ToList())
            {
                Load(entry.Key, entry.Json, entry.Revision);
            }
            return Commit();
        }
    }

    /// <summary>
    /// A value of the bucket (from its watch, or just written): <paramref name="json"/> null for a delete. Revisions
    /// not newer than the one held are ignored, so that a write applied at once is not applied again by the watch.
    /// Only this schedule changes in the engine (<see cref="SchedulerEngine.Change"/>): the others are not reloaded.
    /// </summary>
    public void Apply(string key, string? json, ulong revision)
    {
        lock (_gate)
        {
            string name = NameOfKey(key);
            bool held = _entries.TryGetValue(key, out var before);
            if (held && before!.Revision >= revision && revision != 0)
            {
                return;
            }
            if (json is null)
            {
                // An entry not loaded is not in the engine, where its name may be the file's schedule.
                if (_entries.Remove(key) && before!.Definition is not null)
                {
                    _engine.Change(name, null);
                }
                return;
            }
            if (Load(key, json, revision).Definition is { } definition)
            {
                _engine.Change(name, definition);
            }
            else if (before?.Definition is not null)
            {
                _engine.Change(name, null);
            }
        }
    }

    /// <summary>Applies many values at once (the bucket's content at start): one reload for all.</summary>
    public void ApplyAll(IEnumerable<(string Key, string Json, ulong Revision)> values)
    {
        lock (_gate)
        {
            bool any = false;
            foreach (var (key, json, revision) in values)
            {
                Load(key, json, revision);
                any = true;
            }
            if (any)
            {
                Commit();
            }
        }
    }

    /// <summary><c>create</c>: a new schedule.</summary>
    public ValueTask<RuntimeOutcome> CreateAsync(string json, CancellationToken cancellationToken) => WriteAsync(json, create: true, cancellationToken);

    /// <summary><c>update</c>: a run-time schedule replaced (its cadence restarts if it changed).</summary>
    public ValueTask<RuntimeOutcome> UpdateAsync(string json, CancellationToken cancellationToken) => WriteAsync(json, create: false, cancellationToken);

    /// <summary><c>delete</c>: a run-time schedule removed, under every key that stands for its name.</summary>
    public async ValueTask<RuntimeOutcome> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        if (Refusal(name, "delete") is { } refusal)
        {
            return refusal;
        }
        List<string> keys;
        lock (_gate)
        {
            // A value put by hand under a key not escaped (not loaded, but listed) goes too: left, it would be read again.
            keys = [.. _entries.Values.Where(e => e.Name == name).Select(e => e.Key)];
        }
        if (keys.Count == 0)
        {
            return RuntimeOutcome.Refused(NoSuch(name));
        }
        foreach (var key in keys)
        {
            var write = await _bucket.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
            if (!write.Ok)
            {
                return RuntimeOutcome.Refused($"schedule \"{name}\" was not deleted: {write.Error}");
            }
            Apply(key, null, write.Revision);
        }
        return RuntimeOutcome.Done($"deleted schedule \"{name}\"");
    }

    /// <summary>The entry of a run-time schedule, or null.</summary>
    public RuntimeEntry? Get(string name)
    {
        lock (_gate)
        {
            return _entries.GetValueOrDefault(KeyOf(name));
        }
    }

    /// <summary>Whether the config file gives a schedule of this name.</summary>
    public bool IsFileSchedule(string name)
    {
        lock (_gate)
        {
            return _file.Schedules.Any(s => s.Name == name);
        }
    }

    private async ValueTask<RuntimeOutcome> WriteAsync(string json, bool create, CancellationToken cancellationToken)
    {
        var file = File;
        var result = EntryLoader.Load(json, file, _registry, "request");
        if (!result.Success)
        {
            string? named = EntryLoader.NameOf(json);
            string which = named is null ? "the schedule" : $"schedule \"{named}\"";
            // The reply is one NATS message: an entry of thousands of errors lists the first ones.
            return RuntimeOutcome.Refused(
                $"{which} is {Invalid(result.Errors)}", UserText.Shortlist(result.Errors, UserText.ErrorsListed));
        }
        string name = result.Definition!.Name;
        string action = create ? "create" : "update";
        if (Refusal(name, action) is { } refusal)
        {
            return refusal;
        }
        string key = KeyOf(name);
        lock (_gate)
        {
            bool exists = _entries.ContainsKey(key);
            if (create && exists)
            {
                return RuntimeOutcome.Refused($"a run-time schedule named \"{name}\" exists; use update to change it");
            }
            if (!create && !exists)
            {
                return RuntimeOutcome.Refused(NoSuch(name) + "; use create to make it");
            }
        }
        byte[] value = Encoding.UTF8.GetBytes(json);
        var write = create
            ? await _bucket.CreateAsync(key, value, cancellationToken).ConfigureAwait(false)
            : await _bucket.PutAsync(key, value, cancellationToken).ConfigureAwait(false);
        if (!write.Ok)
        {
            return RuntimeOutcome.Refused($"schedule \"{name}\" was not stored: {write.Error}");
        }
        // In force now, not when the bucket's watch brings it back.
        Apply(key, json, write.Revision);
        return RuntimeOutcome.Done(create
            ? $"created schedule \"{name}\" ({result.Definition.Trigger.Describe()})"
            : $"updated schedule \"{name}\" ({result.Definition.Trigger.Describe()})");
    }

    private RuntimeOutcome? Refusal(string name, string action) => IsFileSchedule(name)
        ? RuntimeOutcome.Refused(action == "create"
            ? $"\"{name}\" is a schedule of the config file; a name may not be both a file's and a run-time schedule's"
            : $"\"{name}\" is a schedule of the config file, which is read-only here; change it in the file and reload")
        : null;

    private string NoSuch(string name)
    {
        var names = _entries.Values.Select(e => e.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return names.Count == 0
            ? $"no run-time schedule is named \"{name}\" (there are none)"
            : $"no run-time schedule is named \"{name}\"; run-time schedules: {string.Join(", ", names)}";
    }

    /// <summary>
    /// Why an entry is invalid, in one line: its first errors and how many more. The status carries this line for every
    /// entry not loaded, and a few lines each must not add up past a NATS message.
    /// </summary>
    private static string Invalid(IReadOnlyList<string> errors) =>
        $"invalid ({errors.Count} error(s)): {string.Join("; ", UserText.Shortlist(errors, ErrorsShown))}";

    // Under _gate.
    private RuntimeEntry Load(string key, string json, ulong revision)
    {
        string name = NameOfKey(key);
        var result = EntryLoader.Load(json, _file, _registry, $"{_file.RuntimeSchedules?.Bucket ?? "bucket"}/{key}");
        string? error = null;
        if (KeyOf(name) != key)
        {
            error = $"its key \"{key}\" is not the escaped name; the value of \"{name}\" goes under the key \"{KeyOf(name)}\"";
        }
        else if (!result.Success)
        {
            error = Invalid(result.Errors);
        }
        else if (result.Definition!.Name != name)
        {
            error = $"its key says \"{name}\" but its entry's name is \"{result.Definition.Name}\"; the key must be the escaped name";
        }
        else if (_file.Schedules.Any(s => s.Name == name))
        {
            error = "the config file has a schedule of this name, which wins; delete this one or rename it";
        }
        var entry = new RuntimeEntry(name, key, json, revision, error) { Definition = error is null ? result.Definition : null };
        _entries[key] = entry;
        if (error is not null)
        {
            Rejected?.Invoke(name, error);
        }
        return entry;
    }

    // Under _gate.
    private ReloadSummary Commit()
    {
        var schedules = new List<ScheduleDefinition>(_file.Schedules.Count + _entries.Count);
        schedules.AddRange(_file.Schedules);
        foreach (var entry in _entries.Values)
        {
            if (entry.Definition is { } definition)
            {
                schedules.Add(definition);
            }
        }
        return _engine.Reload(_file.WithSchedules(schedules));
    }

    /// <summary>
    /// The bucket key of a schedule name: letters, digits, <c>-</c> and <c>_</c> as they are; every other character's
    /// UTF-8 bytes as <c>=XX</c> (upper-case hex), since a KV key holds only <c>[-/_=.A-Za-z0-9]</c> and a dot or slash
    /// has a meaning there. <c>nightly.report</c> is <c>nightly=2Ereport</c>; <c>café</c> is <c>caf=C3=A9</c>.
    /// </summary>
    public static string KeyOf(string name)
    {
        var key = new StringBuilder(name.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(name))
        {
            if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_')
            {
                key.Append((char)b);
            }
            else
            {
                key.Append('=').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return key.ToString();
    }

    /// <summary>The name a key stands for (<see cref="KeyOf"/> undone); a key not written so is taken as it is.</summary>
    public static string NameOfKey(string key)
    {
        if (!key.Contains('=', StringComparison.Ordinal))
        {
            return key;
        }
        var bytes = new List<byte>(key.Length);
        for (int i = 0; i < key.Length; i++)
        {
            if (key[i] == '=' && i + 2 < key.Length
                && byte.TryParse(key.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(key[i].ToString()));
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }
}
