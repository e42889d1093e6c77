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
