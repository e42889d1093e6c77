using System.Globalization;
using System.Text;
using System.Text.Json;
using LoomSched.Config;
using LoomSched.Control;
using LoomSched.Daemon.Nats;
using NATS.Client.Core;

namespace LoomSched.Daemon;

internal static partial class Cli
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    private static int Control(string command, IEnumerable<string> args)
    {
        var parsed = CliArgs.Parse(command, args, command == "status"
            ? [.. ConnectionFlags, "--name", "--subject-prefix", "--timeout", "--format"]
            : [.. ConnectionFlags, "--name", "--subject-prefix", "--timeout"]);
        bool prometheus = parsed.Get("--format") switch
        {
            null or "json" => false,
            "prometheus" => true,
            var other => throw new UsageException($"{command}: --format must be json or prometheus, got \"{other}\""),
        };
        // LOOMSCHED_NAME lets a container's HEALTHCHECK (exec form, no shell to expand variables) or a systemd
        // probe ask "loomsched status" without repeating the name in the command.
        string name = parsed.Get("--name")
            ?? (Environment.GetEnvironmentVariable("LOOMSCHED_NAME") is { Length: > 0 } env ? env : null)
            ?? throw new UsageException($"{command}: name the scheduler with --name N (its config's name) or LOOMSCHED_NAME");
        // A config's name may have dots (as Loom's may): its control subject is then several tokens deep.
        if (!IsSubjectPart(name, dotted: true))
        {
            string source = parsed.Get("--name") is null ? "LOOMSCHED_NAME" : "--name";
            throw new UsageException($"{command}: {source} \"{name}\" is not a scheduler name: it must be NATS subject tokens (letters, digits, _ and -, separated by single dots), as the config's name is");
        }
        string prefix = parsed.Get("--subject-prefix") ?? "loom";
        if (!IsSubjectPart(prefix, dotted: true))
        {
            throw new UsageException($"{command}: --subject-prefix \"{prefix}\" is not a subject prefix: it must be dot-separated tokens of letters, digits, _ and - (no spaces or wildcards), as the config's subject_prefix is, such as loom or site1.loom");
        }
        var timeout = TimeSpan.FromSeconds(parsed.GetSeconds(command, "--timeout", 2, 0.1, 600));
        string? schedule = null;
        if (command is "trigger" or "pause" or "resume")
        {
            if (parsed.Positionals.Count != 1)
            {
                throw new UsageException($"{command}: name one schedule, e.g. loomsched {command} hourly_summarize --name default_scheduler");
            }
            schedule = parsed.Positionals[0].Length > 0
                ? parsed.Positionals[0]
                : throw new UsageException($"{command}: the schedule name is empty; name the schedule, e.g. loomsched {command} hourly_summarize --name default_scheduler");
        }
        else if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"{command}: unexpected argument \"{parsed.Positionals[0]}\"");
        }
        var nats = NatsFrom(parsed, command);
        var body = new MemoryStream();
        using (var w = new Utf8JsonWriter(body))
        {
            w.WriteStartObject();
            w.WriteString("action", command);
            if (schedule is not null)
            {
                w.WriteString("schedule", schedule);
            }
            w.WriteEndObject();
        }
        int code = RequestAsync(nats, $"{prefix}.scheduler.{name}", body.ToArray(), timeout,
            prometheus ? Metrics : Pretty).GetAwaiter().GetResult();
        if (prometheus && code != 0)
        {
            // A textfile collector reads "down" rather than last run's numbers; stderr says why, as ever.
            Console.Out.Write(StatusMetrics.Down(name));
        }
        return code;
    }

    /// <summary>An answered status as Prometheus text; anything else (a refusal) as it came.</summary>
    private static string Metrics(byte[] reply)
    {
        try
        {
            using var doc = JsonDocument.Parse(reply);
            return doc.RootElement.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True
                ? StatusMetrics.Of(doc.RootElement).TrimEnd('\n')
                : Pretty(reply);
        }
        catch (JsonException)
        {
            return Pretty(reply);
        }
    }

    private static async Task<int> RequestAsync(NatsSettings nats, string subject, byte[] body, TimeSpan timeout, Func<byte[], string> render)
    {
        // A request the server refuses (a user who may not publish on the subject) gets no answer: say why at once.
        string? refused = null;
        using var refusal = new CancellationTokenSource();
        await using var connection = await CliConnection.ConnectAsync(nats, "loomsched-cli", timeout, reportReconnects: false, CancellationToken.None,
            serverError: error => Refused(error, ref refused, refusal)).ConfigureAwait(false);
        if (connection is null)
        {
            return 1;
        }
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(refusal.Token);
        cancel.CancelAfter(timeout + TimeSpan.FromSeconds(1));
        try
        {
            var reply = await connection.RequestAsync(subject, body, requestSerializer: Raw, replySerializer: Raw,
                replyOpts: new NatsSubOpts { Timeout = timeout }, cancellationToken: cancel.Token).ConfigureAwait(false);
            var data = reply.Data ?? [];
            Console.Out.WriteLine(render(data));
            return IsOk(data) ? 0 : 1;
        }
        catch (NatsNoRespondersException)
        {
            Console.Error.WriteLine($"loomsched: error: no scheduler answers on {subject} (is the daemon running with that name?)");
        }
        catch (OperationCanceledException) when (refused is not null)
        {
            Console.Error.WriteLine($"loomsched: error: the server refused the request on {subject}: {refused} (see this user's permissions in the server's config)");
        }
        catch (Exception ex) when (ex is NatsNoReplyException or OperationCanceledException or TimeoutException)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"loomsched: error: no scheduler answered on {subject} within {timeout.TotalSeconds:0.###} s; check --name and --subject-prefix against the daemon's config, and that the daemon is running (a stopped or overloaded one does not answer; --timeout waits longer)"));
        }
        catch (NatsException ex)
        {
            Console.Error.WriteLine($"loomsched: error: no answer on {subject} via {nats.RedactedUrl}: {ex.Message}");
        }
        return 1;
    }

    /// <summary>
    /// A server error on a CLI connection: a permissions violation ends the command (its request or subscription will
    /// never be answered); any other is said and the command goes on.
    /// </summary>
    private static void Refused(string error, ref string? refused, CancellationTokenSource refusal)
    {
        if (error.Contains("Permissions Violation", StringComparison.OrdinalIgnoreCase))
        {
            refused ??= error;
            refusal.Cancel();
        }
        else
        {
            Console.Error.WriteLine($"loomsched: note: the server reported: {error}");
        }
    }

    private static bool IsOk(byte[] reply)
    {
        try
        {
            using var doc = JsonDocument.Parse(reply);
            return doc.RootElement.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Pretty(byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream, ReadableJson.Indented))
            {
                doc.WriteTo(w);
            }
            return Encoding.UTF8.GetString(stream.ToArray());
        }
        catch (JsonException)
        {
            return UserText.Escape(Encoding.UTF8.GetString(json)); // not a daemon's reply: whoever answered wrote it
        }
    }

    private static int Watch(IEnumerable<string> args)
    {
        var parsed = CliArgs.Parse("watch", args, [.. ConnectionFlags, "--json"]);
        string subject = parsed.Positionals.Count switch
        {
            0 => "loom.>",
            1 => parsed.Positionals[0],
            _ => throw new UsageException("watch: name at most one subject"),
        };
        if (SubjectProblem(subject) is { } problem)
        {
            throw new UsageException($"watch: \"{subject}\" is not a NATS subject: {problem}; e.g. loom.> or loom.tasks.*");
        }
        var nats = NatsFrom(parsed, "watch");
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        return WatchAsync(nats, subject, parsed.Has("--json"), stop.Token).GetAwaiter().GetResult();
    }

    private static async Task<int> WatchAsync(NatsSettings nats, string subject, bool json, CancellationToken stop)
    {
        // A subscription the server refuses would otherwise wait for ever, silent.
        string? refused = null;
        using var refusal = CancellationTokenSource.CreateLinkedTokenSource(stop);
        await using var connection = await CliConnection.ConnectAsync(nats, "loomsched-watch", CliConnection.WatchConnectTimeout,
            reportReconnects: true, stop, serverError: error => Refused(error, ref refused, refusal)).ConfigureAwait(false);
        if (connection is null)
        {
            return stop.IsCancellationRequested ? 0 : 1;
        }
        Console.Error.WriteLine($"watching {subject} on {nats.RedactedUrl} (Ctrl-C stops)");
        using var output = new WatchOutput();
        try
        {
            await foreach (var msg in connection.SubscribeAsync(subject, serializer: Raw, cancellationToken: refusal.Token).ConfigureAwait(false))
            {
                bool written;
                if (json)
                {
                    written = output.Write(CliJson.Message(msg, TimeProvider.System.GetUtcNow()));
                }
                else
                {
                    string schedule = msg.Headers?.TryGetValue("Loom-Schedule", out var s) == true ? s.ToString() : "-";
                    string slot = msg.Headers?.TryGetValue("Loom-Scheduled-For", out var f) == true ? f.ToString() : "-";
                    // Anyone who may publish on the subject writes this line: escaped, it cannot restyle the terminal or span lines.
                    written = output.WriteLine(UserText.Escape($"{msg.Subject} schedule={schedule} slot={slot} {Encoding.UTF8.GetString(msg.Data ?? [])}"));
                }
                if (!written)
                {
                    // The reader is gone (… | head): end quietly with 0, as a filter whose reader has what it wanted.
                    return 0;
                }
            }
        }
        catch (OperationCanceledException) when (refusal.IsCancellationRequested)
        {
        }
        // The subscription ends quietly when its token is cancelled: by Ctrl-C, or by the server's refusal.
        if (refused is not null && !stop.IsCancellationRequested)
        {
            Console.Error.WriteLine($"loomsched: error: the server refused to let this user watch {subject}: {refused} (see the user's permissions in the server's config)");
            return 1;
        }
        return 0;
    }

    /// <summary>Dotted tokens of <c>[A-Za-z0-9_-]+</c> (one token when not <paramref name="dotted"/>), as the config allows.</summary>
    private static bool IsSubjectPart(string s, bool dotted)
    {
        int run = 0;
        foreach (char c in s)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '-')
            {
                run++;
            }
            else if (dotted && c == '.' && run > 0)
            {
                run = 0;
            }
            else
            {
                return false;
            }
        }
        return run > 0 && s.Length <= 200;
    }

    /// <summary>What is wrong with a subject to subscribe to, or null when the server would take it.</summary>
    private static string? SubjectProblem(string subject)
    {
        if (subject.Length == 0)
        {
            return "it is empty";
        }
        foreach (char c in subject)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return "it contains a space or a control character";
            }
        }
        var tokens = subject.Split('.');
        for (int i = 0; i < tokens.Length; i++)
        {
            string token = tokens[i];
            if (token.Length == 0)
            {
                return "it has an empty token (a dot at the start or end, or two dots in a row)";
            }
            if (token.Length > 1 && (token.Contains('*', StringComparison.Ordinal) || token.Contains('>', StringComparison.Ordinal)))
            {
                return $"the wildcards * and > stand alone as a token, not inside \"{token}\"";
            }
            if (token == ">" && i < tokens.Length - 1)
            {
                return "> matches the rest of the subject, so it must be the last token";
            }
        }
        return null;
    }
}
