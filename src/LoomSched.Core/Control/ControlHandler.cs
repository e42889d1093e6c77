using System.Buffers;
using System.Text.Json;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Scheduling;

namespace LoomSched.Control;

/// <summary>The outcome of a reload request, as the host carried it out.</summary>
/// <param name="Ok">True when the new config was valid and applied.</param>
/// <param name="Message">A sentence for the reply and the log.</param>
/// <param name="Errors">The config errors when it was invalid (the old schedules keep running).</param>
public sealed record ReloadOutcome(bool Ok, string Message, IReadOnlyList<string> Errors);

/// <summary>
/// The control protocol of <c>{p}.scheduler.{name}</c>: a JSON request in, a JSON reply out, for every
/// request. <c>{"action": "status"}</c> (or an empty body), <c>trigger</c>/<c>pause</c>/<c>resume</c> with
/// <c>"schedule"</c>, and <c>reload</c>. Bad requests get <c>{"ok": false, "error": "..."}</c> and change
/// nothing. Pure: the transport is the host's.
/// </summary>
public sealed class ControlHandler
{
    /// <summary>Requests larger than this are refused unread.</summary>
    public const int MaxRequestBytes = 64 * 1024;

    // Requests are flat but for a run-time schedule's entry, whose free-form maps nest as deep as a config's may
    // (JsonValueWriter.MaxDepth); a deeper one is refused before it costs anything.
    private const int MaxRequestDepth = 64;

    private static readonly string[] Actions = ["status", "trigger", "pause", "resume", "reload", "create", "update", "delete", "get", "list"];

    private readonly SchedulerEngine _engine;
    private readonly Func<ReloadOutcome> _reload;
    private readonly string _version;
    private readonly Action<Utf8JsonWriter>? _hostStatus;

    /// <summary>Creates the handler.</summary>
    /// <param name="engine">The engine commands act on.</param>
    /// <param name="reload">Re-reads and applies the config file.</param>
    /// <param name="version">Reported by <c>status</c>.</param>
    /// <param name="hostStatus">Writes extra properties (NATS state, buffer) into the status object.</param>
    public ControlHandler(SchedulerEngine engine, Func<ReloadOutcome> reload, string version, Action<Utf8JsonWriter>? hostStatus = null)
    {
        _engine = engine;
        _reload = reload;
        _version = version;
        _hostStatus = hostStatus;
    }

    /// <summary>
    /// Consulted before <c>trigger</c>, <c>pause</c> and <c>resume</c>: returns why this process refuses the action
    /// (e.g. it is a follower replica), or null to carry it out.
    /// </summary>
    public Func<string, string?>? Guard { get; init; }

    /// <summary>Told of every <c>pause</c> and <c>resume</c> carried out: (action, schedule).</summary>
    public Action<string, string>? Applied { get; init; }

    /// <summary>
    /// The schedules made at run time (<c>runtime_schedules</c>), or null: then <c>create</c>, <c>update</c>,
    /// <c>delete</c>, <c>get</c> and <c>list</c> are refused, saying the feature is off.
    /// </summary>
    public RuntimeScheduleSet? Runtime { get; init; }

    /// <summary>Handles one request body; always returns a JSON reply (a run-time write waits for its bucket).</summary>
    public byte[] Handle(ReadOnlySpan<byte> request) => HandleAsync(request.ToArray(), CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <summary>Handles one request body; always returns a JSON reply.</summary>
    public async ValueTask<byte[]> HandleAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        if (Parse(request.Span, out var parsed) is { } refused)
        {
            return refused;
        }
        var (action, schedule, entry) = parsed;

        // Not Config: with many schedules, making its list again after each change would cost every request.
        var allowed = _engine.TopLevel.AllowedControl;
        ControlActions needed = action switch
        {
            "status" => ControlActions.Status,
            "trigger" => ControlActions.Trigger,
            "pause" => ControlActions.Pause,
            "resume" => ControlActions.Resume,
            "reload" => ControlActions.Reload,
            "create" => ControlActions.Create,
            "update" => ControlActions.Update,
            "delete" => ControlActions.Delete,
            "get" => ControlActions.Get,
            "list" => ControlActions.List,
            _ => ControlActions.None,
        };
        if (needed == ControlActions.None)
        {
            return Error($"unknown action \"{action}\"; expected one of {string.Join(", ", Actions)}");
        }
        if ((allowed & needed) == 0)
        {
            return Error(needed is ControlActions.Create or ControlActions.Update or ControlActions.Delete
                ? $"action \"{action}\" is not allowed by this scheduler's control.actions (create, update and delete are off unless listed there)"
                : $"action \"{action}\" is not allowed by this scheduler's control.actions");
        }
        if (action is "create" or "update" && entry is null)
        {
            return Error($"action \"{action}\" needs \"schedule\": a schedule entry as a JSON object, such as {{\"name\": \"n\", \"cron\": \"0 * * * *\", \"goal\": {{\"instruction\": \"…\"}}}}");
        }

        switch (action)
        {
            case "status":
                return Status();
            case "reload":
                return Reply(_reload());
            case "list":
                return List();
            case "create" or "update" or "delete" or "get":
                return await RuntimeAsync(action, schedule, entry, cancellationToken).ConfigureAwait(false);
            default:
                if (string.IsNullOrEmpty(schedule))
                {
                    return Error($"action \"{action}\" needs \"schedule\": the name of a schedule");
                }
                if (Guard?.Invoke(action) is { } refusal)
                {
                    return Error(refusal);
                }
                var result = action switch
                {
                    "trigger" => _engine.Trigger(schedule),
                    "pause" => _engine.Pause(schedule),
                    _ => _engine.Resume(schedule),
                };
                if (result.Ok && action is "pause" or "resume")
                {
                    Applied?.Invoke(action, schedule);
                }
                return result.Ok
                    ? Write(w => { w.WriteBoolean("ok", true); w.WriteString("message", UserText.Escape(result.Message)); })
                    : Error(result.Message);
        }
    }

    private const string RuntimeOff =
        "this scheduler keeps no run-time schedules: its config has no runtime_schedules (e.g. runtime_schedules: {bucket: loomsched_schedules})";

    private async ValueTask<byte[]> RuntimeAsync(string action, string? schedule, string? entry, CancellationToken cancellationToken)
    {
        if (Runtime is not { } runtime)
        {
            return Error(RuntimeOff);
        }
        if (action is "delete" or "get" && string.IsNullOrEmpty(schedule))
        {
            return Error($"action \"{action}\" needs \"schedule\": the name of a schedule");
        }
        if (action == "get")
        {
            if (runtime.Get(schedule!) is { } found)
            {
                return Write(w =>
                {
                    w.WriteBoolean("ok", true);
                    w.WriteString("name", found.Name);
                    w.WriteString("source", "runtime");
                    w.WriteNumber("revision", found.Revision);
                    WriteEntry(w, found);
                });
            }
            return runtime.IsFileSchedule(schedule!)
                ? Write(w =>
                {
                    w.WriteBoolean("ok", true);
                    w.WriteString("name", schedule);
                    w.WriteString("source", "file");
                    w.WriteString("config", runtime.File.SourcePath);
                })
                : Error($"no schedule is named \"{schedule}\"");
        }
        if (action is "create" or "update" or "delete" && Guard?.Invoke(action) is { } refusal)
        {
            return Error(refusal);
        }
        var outcome = action switch
        {
            "create" => await runtime.CreateAsync(entry!, cancellationToken).ConfigureAwait(false),
            "update" => await runtime.UpdateAsync(entry!, cancellationToken).ConfigureAwait(false),
            _ => await runtime.DeleteAsync(schedule!, cancellationToken).ConfigureAwait(false),
        };
        return Reply(outcome.Ok, outcome.Message, outcome.Errors);
    }

    private byte[] List()
    {
        if (Runtime is not { } runtime)
        {
            return Error(RuntimeOff);
        }
        var file = runtime.File;
        var entries = runtime.Entries;
        return Write(w =>
        {
            w.WriteBoolean("ok", true);
            w.WriteString("bucket", file.RuntimeSchedules?.Bucket);
            w.WriteStartArray("schedules");
            foreach (var s in file.Schedules)
            {
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                w.WriteString("source", "file");
                w.WriteString("trigger", s.Trigger.Describe());
                w.WriteEndObject();
            }
            foreach (var e in entries)
            {
                w.WriteStartObject();
                w.WriteString("name", e.Name);
                w.WriteString("source", "runtime");
                if (e.Definition is { } d)
                {
                    w.WriteString("trigger", d.Trigger.Describe());
                }
                w.WriteNumber("revision", e.Revision);
                w.WriteBoolean("loaded", e.Error is null);
                if (e.Error is not null)
                {
                    w.WriteString("error", UserText.Escape(e.Error));
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    /// <summary>The entry as stored: as JSON when it is JSON, else (a YAML value put by hand) as text.</summary>
    private static void WriteEntry(Utf8JsonWriter w, RuntimeEntry entry)
    {
        if (entry.Error is not null)
        {
            w.WriteString("error", UserText.Escape(entry.Error));
        }
        try
        {
            using var doc = JsonDocument.Parse(entry.Json, new JsonDocumentOptions { MaxDepth = 64 });
            w.WritePropertyName("schedule");
            doc.RootElement.WriteTo(w);
        }
        catch (JsonException)
        {
            w.WriteString("schedule_text", entry.Json);
        }
    }

    /// <summary>The parsed request, or the error reply.</summary>
    private static byte[]? Parse(ReadOnlySpan<byte> request, out (string Action, string? Schedule, string? Entry) parsed)
    {
        parsed = ("status", null, null);
        if (request.Length > MaxRequestBytes)
        {
            return Error($"request is {request.Length} bytes; the limit is {MaxRequestBytes}");
        }
        if (InvalidUtf8At(request) is int at)
        {
            // The JSON reader checks the structure, not the bytes inside strings: the action or name would not decode.
            return Error($"request is not UTF-8 text: byte {at + 1} (0x{request[at]:X2}) is not valid UTF-8; send JSON in UTF-8");
        }
        if (IsBlank(request))
        {
            return null;
        }
        if (JsonErrorText.LoneSurrogate(request, MaxRequestDepth) is { } lone)
        {
            // Valid JSON, but no text: the action, a name or a key with it could not be read as a string.
            return Error($"request is not valid text {lone}; send e.g. {{\"action\": \"status\"}}");
        }
        try
        {
            using var doc = JsonDocument.Parse(request.ToArray(), new JsonDocumentOptions { MaxDepth = MaxRequestDepth });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Error("request must be a JSON object such as {\"action\": \"status\"}");
            }
            if (DuplicateKey(doc.RootElement) is { } duplicate)
            {
                // JSON readers disagree on which of two equal keys counts (here the last would): refuse to guess.
                return Error($"the request has the key \"{duplicate}\" twice; send each key once");
            }
            string action = "status";
            if (doc.RootElement.TryGetProperty("action", out var a))
            {
                if (a.ValueKind != JsonValueKind.String)
                {
                    return Error("\"action\" must be a string: one of " + string.Join(", ", Actions));
                }
                action = a.GetString()!;
            }
            string? schedule = null;
            string? entry = null;
            if (doc.RootElement.TryGetProperty("schedule", out var s))
            {
                if (s.ValueKind == JsonValueKind.Object && action is "create" or "update")
                {
                    entry = s.GetRawText();
                }
                else if (s.ValueKind != JsonValueKind.String)
                {
                    return Error(action is "create" or "update"
                        ? "\"schedule\" must be a schedule entry as a JSON object"
                        : "\"schedule\" must be a string naming a schedule");
                }
                else
                {
                    schedule = s.GetString();
                }
            }
            parsed = (action, schedule, entry);
            return null;
        }
        catch (JsonException ex)
        {
            return Error($"request is not valid JSON {JsonErrorText.Describe(request, ex, MaxRequestDepth)}; send e.g. {{\"action\": \"status\"}}");
        }
    }

    /// <summary>The <c>status</c> reply.</summary>
    public byte[] Status() => StatusReply(_engine.Status(), _version, _hostStatus);

    /// <summary>The <c>status</c> reply of a snapshot, the host's properties written by <paramref name="hostStatus"/>.</summary>
    internal static byte[] StatusReply(SchedulerStatus status, string version, Action<Utf8JsonWriter>? hostStatus)
    {
        return Write(w =>
        {
            w.WriteBoolean("ok", true);
            w.WriteString("scheduler", status.Name);
            w.WriteString("version", version);
            w.WriteString("started_at", LoomTime.Format(status.StartedAt));
            w.WriteNumber("uptime_seconds", StatusNumbers.Rounded(status.Uptime.TotalSeconds));
            hostStatus?.Invoke(w);
            // The bounds of every schedule's late_ms.at_most counts, once.
            w.WriteStartArray("late_ms_bounds");
            foreach (double bound in LatenessHistogram.BoundsMs)
            {
                w.WriteNumberValue(bound);
            }
            w.WriteEndArray();
            w.WriteStartArray("schedules");
            foreach (var s in status.Schedules)
            {
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                w.WriteString("trigger", s.Trigger);
                w.WriteBoolean("enabled", s.Enabled);
                w.WriteBoolean("done", s.Done);
                WriteTime(w, "next_fire", s.NextFire);
                WriteTime(w, "next_slot", s.NextSlot);
                WriteTime(w, "last_slot", s.LastSlot);
                WriteTime(w, "last_fire_at", s.LastFireAt);
                if (s.LastLatenessMs is { } late)
                {
                    w.WriteNumber("last_late_ms", StatusNumbers.Rounded(late));
                }
                else
                {
                    w.WriteNull("last_late_ms");
                }
                if (s.Lateness is { } lateness)
                {
                    w.WriteStartObject("late_ms");
                    w.WriteNumber("count", lateness.Count);
                    w.WriteNumber("sum", StatusNumbers.Rounded(lateness.SumMs));
                    w.WriteStartArray("at_most");
                    foreach (long n in lateness.AtMost)
                    {
                        w.WriteNumberValue(n);
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                foreach (var (field, value) in StatusNumbers.Counters(s))
                {
                    w.WriteNumber(field, value);
                }
                w.WriteBoolean("paused", s.Paused);
                w.WriteBoolean("running", s.Running);
                if (s.LastError is null)
                {
                    w.WriteNull("last_error");
                }
                else
                {
                    w.WriteString("last_error", s.LastError);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    /// <summary>The reply to a reload: ok with what changed, or the config's errors.</summary>
    public static byte[] Reply(ReloadOutcome outcome) => Reply(outcome.Ok, outcome.Message, outcome.Errors);

    /// <summary>An outcome with its sentence (<c>message</c> or <c>error</c>) and the config's errors, if any.</summary>
    private static byte[] Reply(bool ok, string message, IReadOnlyList<string> errors) => Write(w =>
    {
        w.WriteBoolean("ok", ok);
        w.WriteString(ok ? "message" : "error", UserText.Escape(message));
        if (errors.Count > 0)
        {
            w.WriteStartArray("errors");
            foreach (var e in errors)
            {
                w.WriteStringValue(UserText.Escape(e));
            }
            w.WriteEndArray();
        }
    });

    /// <summary>
    /// An error reply: <c>{"ok": false, "error": "..."}</c>. What the message quotes from the request (an action, a
    /// schedule name) is escaped (<see cref="UserText"/>): whoever prints the error prints one line.
    /// </summary>
    public static byte[] Error(string message) => Write(w =>
    {
        w.WriteBoolean("ok", false);
        w.WriteString("error", UserText.Escape(message));
    });

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? t)
    {
        if (t is { } v)
        {
            w.WriteString(name, LoomTime.Format(v));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>Where the first byte that is not valid UTF-8 stands (0-based), or null.</summary>
    private static int? InvalidUtf8At(ReadOnlySpan<byte> request)
    {
        if (System.Text.Unicode.Utf8.IsValid(request))
        {
            return null;
        }
        int at = 0;
        while (System.Text.Rune.DecodeFromUtf8(request[at..], out _, out int consumed) == OperationStatus.Done)
        {
            at += consumed;
        }
        return at;
    }

    /// <summary>The first key the object has more than once, or null.</summary>
    private static string? DuplicateKey(JsonElement request)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in request.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                return property.Name;
            }
        }
        return null;
    }

    private static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }
        return true;
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
