namespace LoomSched.Daemon;

/// <summary>A usage mistake: one line for the user, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary><c>--help</c> or <c>-h</c> after a command: its usage goes to stdout, exit code 0.</summary>
internal sealed class HelpRequest(string command) : Exception(command)
{
    public string Command { get; } = command;
}

/// <summary>
/// A small, strict argument reader: positionals and <c>--flag value</c> / <c>--flag=value</c> options, each
/// command declaring the options it takes, so that a misspelt flag is an error, not ignored.
/// </summary>
internal sealed class CliArgs
{
    // Options that take no value: present or not.
    private static readonly string[] Switches = ["--strict", "--json"];

    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);

    // How each option was spelt on the command line, to name both when it is given twice.
    private readonly Dictionary<string, string> _spellings = new(StringComparer.Ordinal);

    private CliArgs(List<string> positionals) => Positionals = positionals;

    public List<string> Positionals { get; }

    /// <summary>The nats CLI's spellings of the connection options, read as ours where a command takes them.</summary>
    private static readonly Dictionary<string, string> NatsCliSpellings = new(StringComparer.Ordinal)
    {
        ["-s"] = "--nats-url",
        ["--server"] = "--nats-url",
        ["--creds"] = "--nats-creds",
        ["--nkey"] = "--nats-nkey",
        ["--tlsca"] = "--tls-ca",
        ["--tlscert"] = "--tls-cert",
        ["--tlskey"] = "--tls-key",
    };

    public static CliArgs Parse(string command, IEnumerable<string> args, params string[] allowed)
    {
        var positionals = new List<string>();
        var parsed = new CliArgs(positionals);
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            string given = e.Current;
            string arg = Respelt(given, allowed);
            if (arg == "--")
            {
                while (e.MoveNext())
                {
                    positionals.Add(e.Current);
                }
                break;
            }
            if (arg is "--help" or "-h")
            {
                throw new HelpRequest(command);
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                positionals.Add(arg);
                continue;
            }
            string name = arg, value;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
            }
            else
            {
                if (!allowed.Contains(name))
                {
                    throw new UsageException(UnknownOption(command, name, allowed));
                }
                if (Switches.Contains(name))
                {
                    parsed.Set(command, name, given, "");
                    continue;
                }
                if (!e.MoveNext())
                {
                    throw new UsageException($"{command}: {name} needs a value");
                }
                value = e.Current;
            }
            if (!allowed.Contains(name))
            {
                throw new UsageException(UnknownOption(command, name, allowed));
            }
            if (Switches.Contains(name))
            {
                // --strict=false would otherwise turn it on: a switch is on when given, whatever follows the =.
                throw new UsageException($"{command}: {name} takes no value, got \"{arg}\"; give {name} alone, or leave it out");
            }
            parsed.Set(command, name, given.Split('=', 2)[0], value);
        }
        return parsed;
    }

    /// <summary>Keeps an option's value; an option given twice is a mistake, not the last one winning unseen.</summary>
    private void Set(string command, string name, string spelt, string value)
    {
        if (_spellings.TryGetValue(name, out var first))
        {
            throw new UsageException(first == spelt
                ? $"{command}: {name} is given twice; give it once"
                : $"{command}: {name} is given twice (as {first} and {spelt}); give it once");
        }
        _spellings[name] = spelt;
        _options[name] = value;
    }

    /// <summary><c>--server=URL</c> → <c>--nats-url=URL</c>, when the command takes <c>--nats-url</c>.</summary>
    private static string Respelt(string arg, string[] allowed)
    {
        int eq = arg.IndexOf('=', StringComparison.Ordinal);
        string name = eq > 0 ? arg[..eq] : arg;
        return NatsCliSpellings.TryGetValue(name, out var ours) && allowed.Contains(ours) ? ours + arg[name.Length..] : arg;
    }

    public string? Get(string name) => _options.GetValueOrDefault(name);

    /// <summary>Whether a switch (an option without a value, such as <c>--strict</c>) was given.</summary>
    public bool Has(string name) => _options.ContainsKey(name);

    public int GetInt(string command, string name, int fallback, int min, int max)
    {
        if (Get(name) is not { } text)
        {
            return fallback;
        }
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) || n < min || n > max)
        {
            throw new UsageException($"{command}: {name} must be a whole number from {min} to {max}, got \"{text}\"");
        }
        return n;
    }

    public double GetSeconds(string command, string name, double fallback, double min, double max)
    {
        if (Get(name) is not { } text)
        {
            return fallback;
        }
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double n) || !(n >= min && n <= max))
        {
            throw new UsageException($"{command}: {name} must be a number of seconds from {min} to {max}, got \"{text}\"");
        }
        return n;
    }

    private static string UnknownOption(string command, string name, string[] allowed) =>
        allowed.Length == 0
            ? $"{command}: unknown option {name} (it takes none)"
            : $"{command}: unknown option {name}; expected one of {string.Join(", ", allowed)}";
}
