using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace LoomSched.Daemon.Nats;

/// <summary>
/// Stands between NATS.Client.Core and the daemon's log. The client says why a connection attempt failed in
/// several places, at different levels, sometimes not at all (a failed TLS handshake is silent), and repeats
/// itself at every attempt; an operator needs one line that names the server and says what to check. So the
/// client's connection messages are captured as the reason of the current attempt, and
/// <see cref="NatsConnectionReport"/> writes that line; the client's other warnings and errors pass through.
/// </summary>
internal sealed class NatsClientLog(ILoggerFactory inner, NatsConnectionReport report) : ILoggerFactory
{
    // NATS.Client.Core's NatsLogEvents: Connection, Security, Protocol, TcpSocket, Buffer.
    private const int Connection = 1001, Security = 1003, Protocol = 1005, TcpSocket = 1006, Buffer = 1007;

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public ILogger CreateLogger(string categoryName) => new Logger(inner.CreateLogger(categoryName), report);

    public void Dispose()
    {
    }

    /// <summary>The reason a client message gives for a failed connection, or null when it gives none.</summary>
    internal static string? Reason(LogLevel level, int eventId, string message, Exception? exception)
    {
        if (eventId == Security && message.StartsWith("Authentication error", StringComparison.Ordinal))
        {
            return $"the server refused the credentials ({message["Authentication error".Length..].TrimStart(':', ' ')}); check the user and password or token in the URL (--nats-url or NATS_URL), --nats-nkey or --nats-creds";
        }
        if (eventId == Protocol && message.StartsWith("Server error", StringComparison.Ordinal))
        {
            string error = message["Server error".Length..].Trim();
            return error.Contains("Authorization", StringComparison.OrdinalIgnoreCase) || error.Contains("Authentication", StringComparison.OrdinalIgnoreCase)
                ? $"the server refused the credentials ({error.ToLowerInvariant()}); check the user and password or token in the URL (--nats-url or NATS_URL), --nats-nkey or --nats-creds"
                : $"the server reported: {error}";
        }
        if (exception is not null && level >= LogLevel.Warning && eventId is Connection or Security or TcpSocket or Buffer)
        {
            return IsTls(exception)
                ? $"the TLS handshake failed ({Describe(exception)}); check --tls-ca (the CA of the server's certificate) and, if the server verifies clients, --tls-cert and --tls-key"
                : Describe(exception);
        }
        return null;
    }

    /// <summary>The subject of a <c>Server error Permissions Violation for Publish to "S"</c> line, or null.</summary>
    internal static string? DeniedSubject(string message)
    {
        const string Denied = "Permissions Violation for Publish to ";
        if (!message.StartsWith("Server error", StringComparison.Ordinal))
        {
            return null;
        }
        int at = message.IndexOf(Denied, StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            return null;
        }
        var subject = message.AsSpan(at + Denied.Length).Trim().Trim('\'').Trim('"');
        return subject.Length > 0 ? subject.ToString() : null;
    }

    /// <summary>An exception that only says an operation was cancelled (<c>SocketException: Operation canceled</c>).</summary>
    internal static bool IsCancellation(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is OperationCanceledException
                || e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.OperationAborted })
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsTls(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException || e.GetType().Name.Contains("Ssl", StringComparison.Ordinal)
                || e.Message.Contains("net_io_encrypt", StringComparison.Ordinal) || e.Message.Contains("net_ssl", StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private static string Describe(Exception exception)
    {
        var root = exception;
        while (root.InnerException is not null && root is not System.Net.Sockets.SocketException)
        {
            root = root.InnerException;
        }
        return root.Message.Length > 0 ? root.Message : root.GetType().Name;
    }

    private sealed class Logger(ILogger inner, NatsConnectionReport report) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string message = formatter(state, exception);
            if (eventId.Id == Protocol && report.PublishDenied is { } denied && DeniedSubject(message) is { } subject)
            {
                denied(subject); // the publisher counts and reports it, with the schedule
                return;
            }
            if (Reason(logLevel, eventId.Id, message, exception) is { } reason && report.Capture(reason))
            {
                return; // reported once per failed attempt by NatsConnectionReport, in the daemon's own words
            }
            if (report.Stopping && IsCancellation(exception))
            {
                return; // the daemon's own stop cancelled the client's socket loops: no warning, nothing went wrong
            }
            if (logLevel >= LogLevel.Warning && !IsConnectionNoise(eventId.Id, message))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }

        private static bool IsConnectionNoise(int eventId, string message) =>
            eventId is Connection && (message.StartsWith("Retry loop stopped", StringComparison.Ordinal)
                || message.StartsWith("Received same authentication error", StringComparison.Ordinal));
    }
}

/// <summary>
/// One log line per failed connection attempt, in the daemon's words: which server (credentials removed), which
/// attempt, why (as the client said it, or inferred from what the server asked for), and that it retries. A long
/// outage logs attempts 1, 2, 4, 8… and every change of reason, not every attempt.
/// </summary>
internal sealed partial class NatsConnectionReport(NatsSettings settings, ILogger log)
{
    private readonly Lock _gate = new();
    private INatsConnection? _connection;
    private int _attempt;
    private bool _reported = true;
    private string? _reason;
    private string? _lastReason;

    /// <summary>When set, takes the failed attempts (number, reason) that are otherwise logged: the CLI writes them its own way.</summary>
    public Action<int, string>? Failed { get; set; }

    /// <summary>
    /// Set when the daemon begins to stop: closing the connection then cancels the client's socket loops, and the
    /// client logs that cancellation as a socket error, which is no warning then.
    /// </summary>
    public bool Stopping
    {
        get => Volatile.Read(ref _stopping);
        set => Volatile.Write(ref _stopping, value);
    }

    private bool _stopping;

    /// <summary>When set, takes the subject of each publish the server refused for the user's permissions (the publisher's).</summary>
    public Action<string>? PublishDenied { get; set; }

    /// <summary>Hooks the connection: each attempt starts in the client's connecting hook, each success in ConnectionOpened.</summary>
    public void Attach(NatsConnection connection)
    {
        _connection = connection;
        var previous = connection.OnConnectingAsync;
        connection.OnConnectingAsync = target =>
        {
            AttemptStarting();
            return previous?.Invoke(target) ?? ValueTask.FromResult(target);
        };
        connection.ReconnectFailed += (_, _) =>
        {
            AttemptFailed();
            return ValueTask.CompletedTask;
        };
        connection.ConnectionOpened += (_, _) =>
        {
            lock (_gate)
            {
                _attempt = 0;
                _reported = true;
                _reason = _lastReason = null;
            }
            return ValueTask.CompletedTask;
        };
    }

    /// <summary>Takes the reason of the running connection attempt; false outside an attempt (the caller logs it as is).</summary>
    public bool Capture(string reason)
    {
        lock (_gate)
        {
            if (_reported || _attempt == 0)
            {
                return false;
            }
            // The first reason of an attempt is the cause; what follows is usually its consequence.
            _reason ??= reason;
            return true;
        }
    }

    /// <summary>
    /// Why the running (or last) connection attempt failed, in the same words as the log line, which it replaces: for
    /// a command that connects once and gives up (the CLI), not for a connection that keeps retrying.
    /// </summary>
    public string FailureReason()
    {
        lock (_gate)
        {
            _reported = true;
            return _reason ?? _lastReason ?? Inferred();
        }
    }

    private void AttemptStarting()
    {
        AttemptFailed(); // the previous attempt, if it failed without the client saying so
        lock (_gate)
        {
            _attempt++;
            _reported = false;
            _reason = null;
        }
    }

    private void AttemptFailed()
    {
        int attempt;
        string reason;
        lock (_gate)
        {
            if (_reported || _attempt == 0)
            {
                return;
            }
            _reported = true;
            attempt = _attempt;
            reason = _reason ?? Inferred();
            bool changed = reason != _lastReason;
            _lastReason = reason;
            if (!changed && (attempt & (attempt - 1)) != 0)
            {
                return;
            }
        }
        if (Failed is { } failed)
        {
            failed(attempt, reason);
        }
        else
        {
            LogConnectFailed(settings.RedactedUrl, attempt, reason);
        }
    }

    // The client said nothing (it does not log a failed TLS handshake, for one): what did the server ask for?
    private string Inferred()
    {
        var info = _connection?.ServerInfo;
        if (info is null)
        {
            return "no answer from the server";
        }
        bool tls = settings.TlsCa is not null || settings.TlsCert is not null;
        if (info.TlsRequired && !OpenSsl.Available)
        {
            // Without OpenSSL a nats:// connection stays plain (NatsSettings.ToOpts): the hint is the package, not --tls-ca.
            return $"the server requires TLS; {OpenSsl.Missing}";
        }
        if (info.TlsRequired && !tls)
        {
            return "the server requires TLS and the handshake failed; give --tls-ca (the CA of the server's certificate)";
        }
        if (info.TlsVerify && settings.TlsCert is null)
        {
            return "the server verifies client certificates; give --tls-cert and --tls-key";
        }
        if (info.TlsRequired)
        {
            return "the TLS handshake failed; check --tls-ca, --tls-cert and --tls-key against the server's TLS settings";
        }
        return info.AuthRequired
            ? "the server requires authentication and closed the connection; check the credentials"
            : "the server closed the connection during the handshake";
    }

    [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "nats connect to {Url} failed (attempt {Attempt}): {Reason}; retrying")]
    private partial void LogConnectFailed(string url, int attempt, string reason);
}
