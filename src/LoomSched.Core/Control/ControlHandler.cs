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

    // Requests are flat; a deeper one is refused before it costs anything.
    private const int MaxRequestDepth = 16;

    private static readonly string[] Actions = ["status", "trigger", "pause", "resume", "reload"];

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

    /// <summary>Handles one request body; always returns a JSON reply.</summary>
    public byte[] Handle(ReadOnlySpan<byte> request)
    {
        if (request.Length > MaxRequestBytes)
        {
            return Error($"request is {request.Length} bytes; the limit is {MaxRequestBytes}");
        }
        if (InvalidUtf8At(request) is int at)
        {
            // The JSON reader checks the structure, not the bytes inside strings: the action or name would not decode.
            return Error($"request is not UTF-8 text: byte {at + 1} (0x{request[at]:X2}) is not valid UTF-8; send JSON in UTF-8");
        }
        string action = "status";
        string? schedule = null;
        if (!IsBlank(request))
        {
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
                if (doc.RootElement.TryGetProperty("action", out var a))
                {
                    if (a.ValueKind != JsonValueKind.String)
                    {
                        return Error("\"action\" must be a string: one of " + string.Join(", ", Actions));
                    }
                    action = a.GetString()!;
                }
                if (doc.RootElement.TryGetProperty("schedule", out var s))
                {
                    if (s.ValueKind != JsonValueKind.String)
                    {
                        return Error("\"schedule\" must be a string naming a schedule");
                    }
                    schedule = s.GetString();
                }
            }
            catch (JsonException ex)
            {
                return Error($"request is not valid JSON {JsonErrorText.Describe(request, ex, MaxRequestDepth)}; send e.g. {{\"action\": \"status\"}}");
            }
        }

        var allowed = _engine.Config.AllowedControl;
        ControlActions needed = action switch
        {
            "status" => ControlActions.Status,
            "trigger" => ControlActions.Trigger,
            "pause" => ControlActions.Pause,
            "resume" => ControlActions.Resume,
            "reload" => ControlActions.Reload,
            _ => ControlActions.None,
        };
        if (needed == ControlActions.None)
        {
            return Error($"unknown action \"{action}\"; expected one of {string.Join(", ", Actions)}");
        }
        if ((allowed & needed) == 0)
        {
            return Error($"action \"{action}\" is not allowed by this scheduler's control.actions");
        }

        switch (action)
        {
            case "status":
                return Status();
            case "reload":
                return Reply(_reload());
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

    /// <summary>The <c>status</c> reply.</summary>
    public byte[] Status()
    {
        var status = _engine.Status();
        return Write(w =>
        {
            w.WriteBoolean("ok", true);
            w.WriteString("scheduler", status.Name);
            w.WriteString("version", _version);
            w.WriteString("started_at", LoomTime.Format(status.StartedAt));
            w.WriteNumber("uptime_seconds", Math.Round(status.Uptime.TotalSeconds, 3));
            _hostStatus?.Invoke(w);
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
                    w.WriteNumber("last_late_ms", Math.Round(late, 3));
                }
                else
                {
                    w.WriteNull("last_late_ms");
                }
                if (s.Lateness is { } lateness)
                {
                    w.WriteStartObject("late_ms");
                    w.WriteNumber("count", lateness.Count);
                    w.WriteNumber("sum", Math.Round(lateness.SumMs, 3));
                    w.WriteStartArray("at_most");
                    foreach (long n in lateness.AtMost)
                    {
                        w.WriteNumberValue(n);
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteNumber("fires", s.Fires);
                w.WriteNumber("dispatched", s.Dispatched);
                w.WriteNumber("errors", s.Errors);
                w.WriteNumber("skipped", s.Skipped);
                w.WriteNumber("missed", s.Missed);
                w.WriteNumber("not_claimed", s.NotClaimed);
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
    public static byte[] Reply(ReloadOutcome outcome) => Write(w =>
    {
        w.WriteBoolean("ok", outcome.Ok);
        w.WriteString(outcome.Ok ? "message" : "error", UserText.Escape(outcome.Message));
        if (outcome.Errors.Count > 0)
        {
            w.WriteStartArray("errors");
            foreach (var e in outcome.Errors)
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
