using LoomSched.Config;
using LoomSched.Expansion;

namespace LoomSched.Daemon;

/// <summary>The command line (DESIGN.md section 6). Exit codes: 0 fine, 1 a runtime failure, 2 a usage or config error.</summary>
internal static partial class Cli
{
    public const string Version = "0.1.0";

    private const string Usage = """
        loomsched — the Loom scheduler: cron and interval schedules published as Loom goals and tasks on NATS.

        usage:
          loomsched run      --config PATH [--nats-url URL] [connection options] [--log-format text|json]
                             [--log-level debug|info|warn|error] [--shutdown-grace SECONDS]
                             (env: LOOMSCHED_CONFIG, NATS_URL)
          loomsched validate PATH...                           exit 0 valid, 2 invalid; every error listed
          loomsched next     PATH [--count N] [--schedule S] [--from TIME]
                                                               upcoming fire times, in each entry's zone
          loomsched status   --name N [--nats-url URL]         asks a running daemon; exit 0 if it answers
                             (--name defaults to LOOMSCHED_NAME for status, trigger, pause, resume, reload)
          loomsched trigger|pause|resume S --name N [--nats-url URL]
          loomsched reload   --name N [--nats-url URL]         re-read the config of a running daemon
          loomsched watch    [SUBJECT] [--nats-url URL]        print messages as they arrive (default loom.>)
          loomsched --version | --help

        connection options: --nats-creds FILE, --nats-nkey FILE, --tls-ca FILE, --tls-cert FILE, --tls-key FILE;
        a user and password (nats://user:pass@host) or a token (nats://token@host) may be given in the URL.
        control commands also take --subject-prefix P (default loom) and --timeout SECONDS (default 2).
        """;

    public static int Run(string[] args)
    {
        try
        {
            if (args.Length == 0)
            {
                Console.Error.WriteLine("loomsched: a command is needed; try loomsched --help");
                return 2;
            }
            string command = args[0];
            var rest = args.Skip(1);
            return command switch
            {
                "--version" or "version" => PrintVersion(),
                "--help" or "-h" or "help" => PrintUsage(),
                "run" => RunDaemon(rest),
                "validate" => Validate(rest),
                "next" => Next(rest),
                "status" or "trigger" or "pause" or "resume" or "reload" => Control(command, rest),
                "watch" => Watch(rest),
                _ => throw new UsageException($"unknown command \"{command}\"; expected run, validate, next, status, trigger, pause, resume, reload, watch"),
            };
        }
        catch (UsageException ex)
        {
            Console.Error.WriteLine($"loomsched: {ex.Message}");
            return 2;
        }
    }

    private static int PrintVersion()
    {
        Console.Out.WriteLine($"loomsched {Version}");
        return 0;
    }

    private static int PrintUsage()
    {
        Console.Out.WriteLine(Usage);
        return 0;
    }

    /// <summary>The expansion functions compiled into this binary (the generated registry).</summary>
    internal static IExpansionRegistry Registry() => _registry ??= LoomSched.Generated.ExpansionFunctionRegistry.Create();

    private static IExpansionRegistry? _registry;

    /// <summary>Loads a config for a command, printing every error; null when invalid.</summary>
    private static SchedulerConfig? LoadOrReport(string path)
    {
        var result = ConfigLoader.LoadFile(path, Registry());
        foreach (var note in result.Notes)
        {
            Console.Error.WriteLine($"{note} (note)");
        }
        foreach (var error in result.Errors)
        {
            Console.Error.WriteLine(error);
        }
        if (!result.Success)
        {
            Console.Error.WriteLine($"{path}: {result.Errors.Count} error(s)");
            return null;
        }
        return result.Config;
    }
}
