using System.Globalization;
using System.Text;
using System.Text.Json;
using LoomSched.Config;
using LoomSched.Files;

namespace LoomSched.Daemon;

internal static partial class Cli
{
    private static ReadOnlySpan<byte> ScheduleUsage => """
        usage: loomsched schedule create|update FILE|- --name N [--subject-prefix P] [--timeout SECONDS] [connection options]
               loomsched schedule delete|get S --name N …
               loomsched schedule list --name N …
        manages the schedules a running daemon keeps at run time (its config's runtime_schedules bucket):
          create FILE            a new schedule: FILE (- for stdin) holds one entry, in YAML or JSON, with the keys
                                 of a config's schedules[] entry; it is validated by the daemon as a config's is
          update FILE            replaces the run-time schedule of the entry's name
          delete S               removes the run-time schedule S
          get S                  prints the entry of S
          list                   every schedule, from the file or the bucket, and why a value of the bucket is not loaded
        create, update and delete are refused unless the daemon's control.actions lists them.

        """u8;

    private static int Schedule(IEnumerable<string> args)
    {
        var list = args.ToList();
        if (list.Count == 0 || list[0] is "--help" or "-h")
        {
            throw list.Count == 0
                ? new UsageException("schedule: say what to do: create, update, delete, get or list, e.g. loomsched schedule list --name default_scheduler")
                : new HelpRequest("schedule");
        }
        string verb = list[0];
        if (verb is not ("create" or "update" or "delete" or "get" or "list"))
        {
            throw new UsageException($"schedule: unknown action \"{verb}\"; expected create, update, delete, get or list");
        }
        string command = $"schedule {verb}";
        var parsed = CliArgs.Parse("schedule", list.Skip(1), [.. ConnectionFlags, "--name", "--subject-prefix", "--timeout"]);
        string name = parsed.Get("--name")
            ?? (Environment.GetEnvironmentVariable("LOOMSCHED_NAME") is { Length: > 0 } env ? env : null)
            ?? throw new UsageException($"{command}: name the scheduler with --name N (its config's name) or LOOMSCHED_NAME");
        if (!IsSubjectPart(name, dotted: true))
        {
            throw new UsageException($"{command}: \"{name}\" is not a scheduler name: it must be NATS subject tokens (letters, digits, _ and -, separated by single dots), as the config's name is");
        }
        string prefix = parsed.Get("--subject-prefix") ?? "loom";
        if (!IsSubjectPart(prefix, dotted: true))
        {
            throw new UsageException($"{command}: --subject-prefix \"{prefix}\" is not a subject prefix: it must be dot-separated tokens of letters, digits, _ and - (no spaces or wildcards), such as loom or site1.loom");
        }
        var timeout = TimeSpan.FromSeconds(parsed.GetSeconds(command, "--timeout", 2, 0.1, 600));
        int wanted = verb == "list" ? 0 : 1;
        if (parsed.Positionals.Count != wanted)
        {
            throw new UsageException(verb switch
            {
                "list" => $"{command}: unexpected argument \"{parsed.Positionals[0]}\"",
                "create" or "update" => $"{command}: name one file holding the entry (- for stdin), e.g. loomsched schedule {verb} nightly.yaml --name default_scheduler",
                _ => $"{command}: name one schedule, e.g. loomsched schedule {verb} nightly --name default_scheduler",
            });
        }
        if (verb is "create" or "update" && parsed.Positionals[0].Length == 0)
        {
            throw new UsageException($"{command}: the path is empty; name the file holding the entry (- for stdin)");
        }
        if (verb is "delete" or "get" && parsed.Positionals[0].Length == 0)
        {
            throw new UsageException($"{command}: the schedule name is empty; name the schedule, e.g. loomsched schedule {verb} nightly --name default_scheduler");
        }
        string? entry = verb is "create" or "update" ? EntryJson(command, parsed.Positionals[0]) : null;
        var nats = NatsFrom(parsed, command);
        var body = new MemoryStream();
        using (var w = new Utf8JsonWriter(body))
        {
            w.WriteStartObject();
            w.WriteString("action", verb);
            if (entry is not null)
            {
                w.WritePropertyName("schedule");
                w.WriteRawValue(entry);
            }
            else if (wanted == 1)
            {
                w.WriteString("schedule", parsed.Positionals[0]);
            }
            w.WriteEndObject();
        }
        return RequestAsync(nats, $"{prefix}.scheduler.{name}", body.ToArray(), timeout, Pretty).GetAwaiter().GetResult();
    }

    /// <summary>The entry of FILE (or stdin) as JSON; a file that cannot be read, or is no YAML or JSON map, is a usage error.</summary>
    private static string EntryJson(string command, string path)
    {
        string source = path == "-" ? "stdin" : path;
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        string text;
        try
        {
            if (path == "-")
            {
                using var stdin = Console.OpenStandardInput();
                using var reader = new StreamReader(stdin, utf8);
                var buffer = new char[EntryLoader.MaxBytes + 1];
                int read = reader.ReadBlock(buffer, 0, buffer.Length);
                text = new string(buffer, 0, read);
            }
            else
            {
                // Worded as stdin's entry over the limit is (EntryLoader.ToJson), the file's path in place of "stdin".
                string tooLarge = $"the entry is over {EntryLoader.MaxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes; a schedule entry should be far smaller";
                var bytes = CliFile.Read(path, EntryLoader.MaxBytes, "entry read", tooLarge, out string? problem)
                    ?? throw new UsageException($"{command}: {path}: {problem}");
                // As File.ReadAllText did: a UTF-8 byte order mark is not part of the text.
                text = utf8.GetString(FileRead.WithoutByteOrderMark(bytes));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw new UsageException(ex switch
            {
                DecoderFallbackException => $"{command}: {source} is not UTF-8 text",
                _ => $"{command}: {source} cannot be read: {ex.Message}",
            });
        }
        if (EntryLoader.ToJson(text, out var errors) is not { } json)
        {
            throw new UsageException($"{command}: {source}: {string.Join("; ", errors)}");
        }
        return json;
    }
}
