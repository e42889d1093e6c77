using System.Text;
using LoomSched.Files;
using NATS.Client.Core;

namespace LoomSched.Daemon.Nats;

/// <summary>How to reach NATS: from <c>--nats-url</c> (or <c>NATS_URL</c>) and the credential/TLS flags.</summary>
internal sealed record NatsSettings
{
    public const string DefaultUrl = "nats://127.0.0.1:4222";

    public string Url { get; init; } = DefaultUrl;

    /// <summary>The settings read from the environment: flag → variable (<c>--nats-creds</c> → <c>NATS_CREDS</c>).</summary>
    public IReadOnlyDictionary<string, string> Sources { get; init; } = new Dictionary<string, string>();

    /// <summary>Where <see cref="Url"/> came from, as a message names it: <c>--nats-url</c> or <c>NATS_URL</c>.</summary>
    public string UrlSource => SourceOf("--nats-url");

    /// <summary>How a message names a setting: its flag, or the variable it was read from.</summary>
    public string SourceOf(string flag) => Sources.TryGetValue(flag, out var variable) ? variable : flag;
    public string? CredsFile { get; init; }
    public string? NKeyFile { get; init; }
    public string? TlsCa { get; init; }
    public string? TlsCert { get; init; }
    public string? TlsKey { get; init; }

    /// <summary>The URL with any user, password or token removed: the only form that may be logged.</summary>
    public string RedactedUrl => Redact(Url);

    /// <summary>
    /// The client's write buffer: large enough that a burst's publishes seldom wait for the socket (at the default
    /// 64 KiB most of a thousand-message burst waited, a timer and a thread hop each). No larger: the client sizes its
    /// two scratch buffers per publish at 1/256 of it, and clears both after every message.
    /// </summary>
    internal const int WriterBufferSize = 256 << 10;

    /// <summary>
    /// Builds client options. A user and password (<c>nats://u:p@host</c>) or token (<c>nats://t@host</c>) in
    /// the URL become auth options, and the URL handed to the client carries none of them.
    /// </summary>
    public NatsOpts ToOpts(string clientName, Microsoft.Extensions.Logging.ILoggerFactory loggers)
    {
        var auth = NatsAuthOpts.Default;
        var urls = new List<string>();
        foreach (var part in Url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var uri = ParseUri(part);
            if (uri.UserInfo.Length > 0)
            {
                var info = uri.UserInfo.Split(':', 2);
                auth = info.Length == 2
                    ? auth with { Username = Uri.UnescapeDataString(info[0]), Password = Uri.UnescapeDataString(info[1]) }
                    : auth with { Token = Uri.UnescapeDataString(info[0]) };
            }
            urls.Add(new UriBuilder(uri) { UserName = "", Password = "" }.Uri.GetComponents(
                UriComponents.SchemeAndServer, UriFormat.UriEscaped));
        }
        if (CredsFile is not null)
        {
            auth = auth with { CredsFile = CredsFile };
        }
        if (NKeyFile is not null && ReadSeed(NKeyFile) is { } seed)
        {
            // Read here rather than by the client, which wants the public key in the file too: the file `nk -gen
            // user` writes holds the seed alone, and the public key follows from it.
            using var pair = NATS.NKeys.KeyPair.FromSeed(seed);
            auth = auth with { NKey = pair.GetPublicKey(), Seed = seed };
        }
        var tls = NatsTlsOpts.Default;
        if (TlsCa is not null || TlsCert is not null)
        {
            tls = tls with { CaFile = TlsCa, CertFile = TlsCert, KeyFile = TlsKey, Mode = TlsMode.Require };
        }
        else if (!UsesTls && !OpenSsl.Available)
        {
            // A nats:// URL upgrades to TLS when the server offers it; without OpenSSL that handshake cannot run, so
            // the connection stays plain (a server that requires TLS refuses it, and the log says so).
            tls = tls with { Mode = TlsMode.Disable };
        }
        return NatsOpts.Default with
        {
            Url = string.Join(',', urls),
            Name = clientName,
            AuthOpts = auth,
            TlsOpts = tls,
            LoggerFactory = loggers,
            RetryOnInitialConnect = true,
            // By default the client gives up for good after the same auth error twice; a daemon keeps trying
            // (the credentials may be fixed on the server side) and says why in its log.
            IgnoreAuthErrorAbort = true,
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(250),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
            ReconnectJitter = TimeSpan.FromMilliseconds(100),
            ConnectTimeout = TimeSpan.FromSeconds(2),
            WriterBufferSize = WriterBufferSize,
            // Schedule names go into headers: in ASCII a non-ASCII letter became '?', so "café" and "cafè" shared a
            // Nats-Msg-Id and a stream dropped one as a duplicate. UTF-8, as nats-py and nats.go write them.
            HeaderEncoding = Encoding.UTF8,
        };
    }

    /// <summary>
    /// The largest creds, nkey or PEM file read: such a file is a few KB, a CA bundle a few hundred; more is the wrong
    /// file (a device, a log), refused before it fills the memory.
    /// </summary>
    private const int MaxFileBytes = 1 << 20;

    private const string TooLarge = "the file is over 1 MiB; a creds, nkey or certificate file is a few KB: check the path";

    /// <summary>Checks the URL and reads the connection files before anything connects; null when they are usable.</summary>
    public string? Problem()
    {
        var parts = Url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            return $"{UrlSource} is empty; name a server such as nats://127.0.0.1:4222";
        }
        foreach (var part in parts)
        {
            if (!Uri.TryCreate(part.Contains("://", StringComparison.Ordinal) ? part : "nats://" + part, UriKind.Absolute, out var uri)
                || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
            {
                return $"{UrlSource} \"{Redact(part)}\" is not a NATS URL such as nats://127.0.0.1:4222";
            }
            if (uri.Host.Length == 0)
            {
                return $"{UrlSource} \"{Redact(part)}\" names no host; e.g. nats://127.0.0.1:4222";
            }
        }
        // Each file read once, bounded, before anything connects: a device, a FIFO or a directory is named here.
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (flag, path) in new[] { ("--nats-creds", CredsFile), ("--nats-nkey", NKeyFile), ("--tls-ca", TlsCa), ("--tls-cert", TlsCert), ("--tls-key", TlsKey) })
        {
            if (path is null)
            {
                continue;
            }
            if (path.Length == 0)
            {
                return $"{SourceOf(flag)} is empty; name the file";
            }
            if (CliFile.Read(path, MaxFileBytes, "nats file read", TooLarge, out string? problem) is not { } bytes)
            {
                return $"{SourceOf(flag)} {path}: {problem}";
            }
            texts[flag] = Encoding.UTF8.GetString(FileRead.WithoutByteOrderMark(bytes));
        }
        if ((TlsCert is null) != (TlsKey is null))
        {
            return $"{SourceOf("--tls-cert")} and {SourceOf("--tls-key")} go together";
        }
        foreach (var (flag, path, block) in new[] { ("--tls-ca", TlsCa, "CERTIFICATE"), ("--tls-cert", TlsCert, "CERTIFICATE"), ("--tls-key", TlsKey, "PRIVATE KEY") })
        {
            if (path is not null && PemProblem(texts[flag], block) is { } pem)
            {
                return $"{SourceOf(flag)} {path}: {pem}";
            }
        }
        if (NKeyFile is not null && NKeyProblem(texts["--nats-nkey"]) is { } nkey)
        {
            return $"{SourceOf("--nats-nkey")} {NKeyFile}: {nkey}";
        }
        if (CredsFile is not null && !CredsLookRight(texts["--nats-creds"]))
        {
            return $"{SourceOf("--nats-creds")} {CredsFile}: not a creds file; it must hold a \"BEGIN NATS USER JWT\" block and a \"BEGIN USER NKEY SEED\" block, as nsc writes it";
        }
        if (UsesTls && !OpenSsl.Available)
        {
            return OpenSsl.Missing + ", or connect without TLS";
        }
        return null;
    }

    /// <summary>
    /// TLS is configured: a <c>tls://</c> or <c>wss://</c> URL, or a CA or client certificate. (A <c>nats://</c> URL
    /// without them upgrades only if the server asks for it; see <see cref="ToOpts"/>.)
    /// </summary>
    public bool UsesTls =>
        TlsCa is not null || TlsCert is not null || TlsKey is not null
        || Url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Any(part => part.StartsWith("tls://", StringComparison.OrdinalIgnoreCase) || part.StartsWith("wss://", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Why a TLS file is not what its option takes: a PEM file with a <c>-----BEGIN … BLOCK-----</c> line (a key may be
    /// <c>RSA PRIVATE KEY</c>, <c>EC PRIVATE KEY</c> or <c>PRIVATE KEY</c>); null when it is.
    /// </summary>
    private static string? PemProblem(string text, string block)
    {
        foreach (var line in Lines(text))
        {
            var trimmed = line.AsSpan().Trim();
            if (trimmed.StartsWith("-----BEGIN ") && trimmed.EndsWith(block + "-----"))
            {
                return null;
            }
        }
        return $"not a PEM file with a \"-----BEGIN {block}-----\" block";
    }

    /// <summary>The user seed in an nkey file: the first line starting with SU.</summary>
    private static string? ReadSeed(string path)
    {
        try
        {
            return SeedIn(File.ReadLines(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? SeedIn(IEnumerable<string> lines) =>
        lines.Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("SU", StringComparison.Ordinal));

    // Never quotes the file: it holds a secret.
    private static string? NKeyProblem(string text)
    {
        if (SeedIn(Lines(text)) is not { } seed)
        {
            return "no user seed in the file (a line starting with SU, as `nk -gen user` writes it)";
        }
        try
        {
            using var pair = NATS.NKeys.KeyPair.FromSeed(seed);
            return null;
        }
        catch (Exception ex) when (ex is NATS.NKeys.NKeysException or FormatException or ArgumentException or IndexOutOfRangeException)
        {
            return "the seed in the file is not a valid nkey seed";
        }
    }

    private static bool CredsLookRight(string text) =>
        text.Contains("-----BEGIN NATS USER JWT-----", StringComparison.Ordinal)
        && text.Contains("-----BEGIN USER NKEY SEED-----", StringComparison.Ordinal);

    /// <summary>The lines of a file's text, as <see cref="File.ReadLines(string)"/> splits them.</summary>
    private static IEnumerable<string> Lines(string text)
    {
        using var reader = new StringReader(text);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    private static Uri ParseUri(string part) =>
        new(part.Contains("://", StringComparison.Ordinal) ? part : "nats://" + part, UriKind.Absolute);

    public static string Redact(string url)
    {
        var parts = url.Split(',');
        for (int i = 0; i < parts.Length; i++)
        {
            int at = parts[i].LastIndexOf('@');
            if (at >= 0)
            {
                int scheme = parts[i].IndexOf("://", StringComparison.Ordinal);
                int start = scheme >= 0 ? scheme + 3 : 0;
                parts[i] = string.Concat(parts[i].AsSpan(0, start), "***@", parts[i].AsSpan(at + 1));
            }
        }
        return string.Join(',', parts);
    }
}
