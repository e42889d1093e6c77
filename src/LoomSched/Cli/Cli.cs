using LoomSched.Config;
using LoomSched.Expansion;
using Microsoft.Extensions.Logging;

namespace LoomSched.Daemon;

/// <summary>The command line (README, "Command line"). Exit codes: 0 fine, 1 a runtime failure, 2 a usage or config error.</summary>
internal static partial class Cli
{
    /// <summary>The build's version (Directory.Build.props), written into BuildInfo.g.cs by the project file.</summary>
    public const string Version = BuildInfo.Version;

    // The usage texts are UTF-8 literals, written to stdout as they are: half the size of strings in the binary.
    private static ReadOnlySpan<byte> Usage => """
        loomsched — the Loom scheduler: cron and interval schedules published as Loom goals and tasks on NATS.

        usage:
          loomsched run      --config PATH [--nats-url URL] [connection options] [--log-format text|json]
                             [--log-level debug|info|warn|error] [--shutdown-grace SECONDS] [--strict]
                             [--metrics-address HOST:PORT]
                             (env: LOOMSCHED_CONFIG, NATS_URL, LOOMSCHED_METRICS_ADDRESS)
          loomsched validate PATH... [--strict] [--json]       exit 0 valid, 2 invalid; every error listed
          loomsched next     PATH [--count N] [--schedule S] [--from TIME] [--json]
                                                               upcoming fire times, in each entry's zone
          loomsched plan     PATH [--hours N] [--from TIME] [--svg FILE]
                                                               fires per minute of the coming hours, the peaks
          loomsched status   --name N [--nats-url URL] [--format json|prometheus]
                                                               asks a running daemon; exit 0 if it answers
                             (--name defaults to LOOMSCHED_NAME for status, trigger, pause, resume, reload)
          loomsched trigger|pause|resume S --name N [--nats-url URL]
          loomsched reload   --name N [--nats-url URL]         re-read the config of a running daemon
          loomsched watch    [SUBJECT] [--nats-url URL] [--json]
                                                               print messages as they arrive (default loom.>)
          loomsched schedule create|update FILE|- --name N     a schedule made at run time (runtime_schedules);
          loomsched schedule delete|get S --name N             FILE holds one entry in YAML or JSON (- for stdin)
          loomsched schedule list --name N
          loomsched --version | --help | COMMAND --help

        connection options: --nats-creds FILE, --nats-nkey FILE, --tls-ca FILE, --tls-cert FILE, --tls-key FILE;
        a user and password (nats://user:pass@host) or a token (nats://token@host) may be given in the URL.
        control commands also take --subject-prefix P (default loom) and --timeout SECONDS (default 2).

        """u8;

    private static ReadOnlySpan<byte> RunUsage => """
        usage: loomsched run --config PATH [--nats-url URL] [connection options] [--log-format text|json]
                             [--log-level debug|info|warn|error] [--shutdown-grace SECONDS] [--strict]
                             [--metrics-address HOST:PORT]
        runs the daemon: fires the schedules of the config at PATH and publishes them on NATS.
          --config PATH          the config file (default: LOOMSCHED_CONFIG)
          --log-format text|json one line per event on stderr (default text)
          --log-level LEVEL      debug, info (default), warn or error
          --shutdown-grace SECONDS   how long a stop waits for running fires (default 1.5)
          --strict               the config's notes are errors (at start and at every reload)
          --metrics-address HOST:PORT   serve /metrics (Prometheus text) and /healthz there, e.g. 127.0.0.1:9464
                                 or :9464 for every interface (default: LOOMSCHED_METRICS_ADDRESS)
        signals:
          SIGTERM, SIGINT        stop firing, let running fires and the publish buffer finish (--shutdown-grace),
                                 log what was sent, exit
          SIGHUP                 reload the config (validated first; if invalid, the running schedules stay)
        under systemd (NOTIFY_SOCKET): READY=1, RELOADING=1, STOPPING=1, STATUS= and, with WatchdogSec=, WATCHDOG=1.
        exit codes:
          0                      stopped by a signal
          1                      the daemon failed (an internal fault, logged with its stack trace)
          2                      a usage or config error (every error listed; restarting cannot fix it), or
                                 options an expansion service validates on start refused

        """u8;

    private static ReadOnlySpan<byte> ValidateUsage => """
        usage: loomsched validate PATH... [--strict] [--json]
        checks config files without connecting: every error and note with its file, line and key
        (FILE:LINE:COLUMN: error: KEY: MESSAGE, as compilers write them). exit 0 when all are valid, 2 when one is not.
          --strict               notes are errors (for CI): what Loom ignores and loomsched only notes
          --json                 one JSON document: per file valid, schedules and the diagnostics (severity, file,
                                 line, column, key, message)

        """u8;

    private static ReadOnlySpan<byte> NextUsage => """
        usage: loomsched next PATH [--count N] [--schedule S] [--from TIME] [--json]
        lists the upcoming fire times of the schedules in the config at PATH, in each entry's zone.
          --count N              how many per schedule (default 5, at most 10000)
          --schedule S           only the schedule named S
          --from TIME            the slots after TIME instead of after now: ISO-8601 with an offset or Z,
                                 e.g. 2027-03-27T00:00:00Z (interval schedules count from TIME)
          --json                 one JSON document: per schedule its name, trigger, slots (with their offset)
                                 and more (false when the trigger has no slot after the last one listed)

        """u8;

    private static ReadOnlySpan<byte> PlanUsage => """
        usage: loomsched plan PATH [--hours N] [--from TIME] [--svg FILE]
        shows how many fires each hour and minute of the coming hours brings, across all schedules, as they would
        fire from TIME (jitter included): the peak minutes, the busiest second, and for a thundering herd (100 or
        more fires in one second) what jitter_seconds: 60 would make of it. Expanding schedules count one fire each.
          --hours N              how far to look (default 24, at most 168)
          --from TIME            start at TIME instead of now (ISO-8601 with an offset or Z)
          --svg FILE             also write a timeline of fires per minute as an SVG image

        """u8;

    private static ReadOnlySpan<byte> WatchUsage => """
        usage: loomsched watch [SUBJECT] [--nats-url URL] [connection options] [--json]
        prints the messages on SUBJECT (default loom.>; wildcards * and > allowed) as they arrive, until Ctrl-C.
          --json                 one JSON line per message: subject, received_at, headers, and data (the body
                                 as JSON) or text (a body that is not JSON)
        exit 1 when the server cannot be reached or refuses the credentials; a connection lost later is retried.

        """u8;

    private static ReadOnlySpan<byte> ControlUsage => """
          --name N               the scheduler's name, as in its config (default: LOOMSCHED_NAME)
          --subject-prefix P     the config's subject_prefix (default loom)
          --timeout SECONDS      how long to wait for the answer (default 2)

        """u8;

    private static ReadOnlySpan<byte> ConnectionUsage => """
          --nats-url URL         the server(s), comma-separated (default: NATS_URL, else nats://127.0.0.1:4222);
                                 nats://user:pass@host or nats://token@host for password or token auth
          --nats-creds FILE      a creds file, as nsc writes it (default: NATS_CREDS)
          --nats-nkey FILE       an nkey seed file, as nk -gen user writes it (default: NATS_NKEY)
          --tls-ca FILE          the CA of the server's certificate (default: NATS_CA)
          --tls-cert FILE, --tls-key FILE   a client certificate, when the server verifies clients
                                 (default: NATS_CERT, NATS_KEY)
        The nats CLI's spellings work too: -s/--server, --creds, --nkey, --tlsca, --tlscert, --tlskey.

        """u8;

    /// <summary>Writes the usage of one command (for <c>COMMAND --help</c>), or the general usage.</summary>
    private static int PrintUsage(string? command)
    {
        using var stdout = Console.OpenStandardOutput();
        switch (command)
        {
            case "run":
                stdout.Write(RunUsage);
                stdout.Write(ConnectionUsage);
                break;
            case "validate":
                stdout.Write(ValidateUsage);
                break;
            case "next":
                stdout.Write(NextUsage);
                break;
            case "plan":
                stdout.Write(PlanUsage);
                break;
            case "watch":
                stdout.Write(WatchUsage);
                stdout.Write(ConnectionUsage);
                break;
            case "schedule":
                stdout.Write(ScheduleUsage);
                stdout.Write(ControlUsage);
                stdout.Write(ConnectionUsage);
                stdout.Write("exit 0 when the daemon answers ok, 1 when it refuses or none answers, 2 for a usage mistake.\n"u8);
                break;
            case "status" or "reload" or "trigger" or "pause" or "resume":
                stdout.Write("usage: loomsched "u8);
                stdout.Write(System.Text.Encoding.UTF8.GetBytes(command));
                stdout.Write(command is "status" or "reload" ? ""u8 : " SCHEDULE"u8);
                stdout.Write(" --name N [--subject-prefix P] [--timeout SECONDS]"u8);
                stdout.Write(command is "status" ? " [--format json|prometheus]"u8 : ""u8);
                stdout.Write(" [--nats-url URL] [connection options]"u8);
                stdout.Write(command switch
                {
                    "status" => "\nasks a running daemon for its state and prints its JSON reply.\n  --format prometheus    print it as Prometheus text instead (for node_exporter's textfile collector);\n                         loomsched_up 0 when the daemon does not answer\n"u8,
                    "reload" => "\nmakes a running daemon re-read its config file; an invalid file changes nothing.\n"u8,
                    "trigger" => "\nfires SCHEDULE now in a running daemon; its cadence is unchanged.\n"u8,
                    "pause" => "\nstops the cadence of SCHEDULE in a running daemon until resume.\n"u8,
                    _ => "\nrestarts the cadence of a paused SCHEDULE in a running daemon.\n"u8,
                });
                stdout.Write(ControlUsage);
                stdout.Write(ConnectionUsage);
                stdout.Write("exit 0 when the daemon answers ok, 1 when it refuses or none answers, 2 for a usage mistake.\n"u8);
                break;
            case null or "help" or "--help" or "-h":
                stdout.Write(Usage);
                break;
            default:
                throw new UsageException($"help: {UnknownCommand(command)}");
        }
        return 0;
    }

    private static string UnknownCommand(string command) =>
        $"unknown command \"{UserText.Escape(command)}\"; expected run, validate, next, plan, status, trigger, pause, resume, reload, watch, schedule";

    public static int Run(string[] args)
    {
        try
        {
            if (args.Length == 0)
            {
                Console.Error.WriteLine("loomsched: error: a command is needed; try loomsched --help");
                return 2;
            }
            string command = args[0];
            var rest = args.Skip(1);
            return command switch
            {
                "--version" or "version" => PrintVersion(),
                "--help" or "-h" or "help" => PrintUsage(args.Length > 1 ? args[1] : null),
                "run" => RunDaemon(rest),
                "validate" => Validate(rest),
                "next" => Next(rest),
                "plan" => Plan(rest),
                "status" or "trigger" or "pause" or "resume" or "reload" => Control(command, rest),
                "watch" => Watch(rest),
                "schedule" => Schedule(rest),
                _ => throw new UsageException(UnknownCommand(command)),
            };
        }
        catch (HelpRequest help)
        {
            return PrintUsage(help.Command);
        }
        catch (UsageException ex)
        {
            // A usage message quotes the command line (a schedule, a name, a path): one line whatever it holds.
            Console.Error.WriteLine($"loomsched: error: {UserText.Escape(ex.Message)}");
            return 2;
        }
    }

    /// <summary>A config path of the command line; an empty one is a usage error, not a file that cannot be found.</summary>
    private static string ConfigPath(string command, string path) =>
        path.Length > 0 ? path : throw new UsageException($"{command}: the path is empty; name the config file");

    private static int PrintVersion()
    {
        Console.Out.WriteLine($"loomsched {Version}");
        return 0;
    }


    /// <summary>The expansion functions compiled into this binary (the generated registry).</summary>
    internal static IExpansionRegistry Registry() => _registry ??= LoomSched.Generated.ExpansionFunctionRegistry.Create();

    private static IExpansionRegistry? _registry;

    /// <summary>
    /// Loads a config for a command, reporting every note and error on stderr, as plain lines or, given a
    /// <paramref name="log"/> (the daemon's JSON log), as log lines; null when invalid. With <paramref name="json"/>,
    /// an invalid config is reported on stdout as <c>validate --json</c> reports it.
    /// </summary>
    private static SchedulerConfig? LoadOrReport(string path, ILogger? log = null, bool strict = false, bool json = false)
    {
        var result = ConfigLoader.LoadFile(path, Registry());
        if (strict)
        {
            result = result.Strict();
        }
        if (json && !result.Success)
        {
            PrintValidation([(path, result)]);
            return null;
        }
        foreach (var note in result.Notes)
        {
            if (log is null)
            {
                Console.Error.WriteLine(note.Format("note"));
            }
            else
            {
                LogConfigNote(log, note.Format("note"));
            }
        }
        foreach (var error in result.Errors)
        {
            if (log is null)
            {
                Console.Error.WriteLine(error.Format("error"));
            }
            else
            {
                LogConfigError(log, error.Format("error"));
            }
        }
        if (!result.Success)
        {
            if (log is null)
            {
                Console.Error.WriteLine($"{UserText.Escape(path)}: {result.Errors.Count} error(s)");
            }
            else
            {
                LogConfigInvalid(log, path, result.Errors.Count);
            }
            return null;
        }
        return result.Config;
    }

    [LoggerMessage(EventId = 90, Level = LogLevel.Warning, Message = "{Note}")]
    private static partial void LogConfigNote(ILogger logger, string note);

    [LoggerMessage(EventId = 91, Level = LogLevel.Error, Message = "{Error}")]
    private static partial void LogConfigError(ILogger logger, string error);

    [LoggerMessage(EventId = 92, Level = LogLevel.Error, Message = "{Path}: {Errors} error(s); not started")]
    private static partial void LogConfigInvalid(ILogger logger, string path, int errors);
}
