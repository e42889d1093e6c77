using LoomSched.Daemon.Nats;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;

namespace LoomSched.Daemon;

/// <summary>
/// The NATS connection of a CLI command. It connects once, at once, and when that fails writes one line that names
/// the server and says why in the daemon's words (<see cref="NatsClientLog"/>: refused credentials, connection
/// refused, a name not resolved, a failed TLS handshake…), instead of the client's text or a silent retry.
/// </summary>
internal static class CliConnection
{
    /// <summary>How long <c>watch</c> waits for the server when it starts.</summary>
    public static readonly TimeSpan WatchConnectTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Connects within <paramref name="timeout"/>, or writes why not on stderr and returns null. With
    /// <paramref name="reportReconnects"/>, a connection lost later is retried for ever and each step said on stderr.
    /// </summary>
    /// <remarks>
    /// <paramref name="serverError"/> takes what the server reports once connected (<c>-ERR</c>: a permissions violation
    /// for the request's subject, say), which the client would otherwise only log.
    /// </remarks>
    public static async Task<NatsConnection?> ConnectAsync(NatsSettings nats, string clientName, TimeSpan timeout, bool reportReconnects,
        CancellationToken stop, Action<string>? serverError = null)
    {
        var report = new NatsConnectionReport(nats, NullLogger.Instance);
        var opts = nats.ToOpts(clientName, new NatsClientLog(new ServerErrors(serverError), report)) with
        {
            RetryOnInitialConnect = false,
            ConnectTimeout = timeout,
            RequestTimeout = timeout,
        };
        var connection = new NatsConnection(opts);
        report.Attach(connection);
        string url = nats.RedactedUrl;
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(timeout + TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
            if (reportReconnects)
            {
                // As the daemon logs it: attempts 1, 2, 4, 8… and every change of reason.
                report.Failed = (attempt, reason) => Console.Error.WriteLine(
                    $"loomsched: note: nats connect to {url} failed (attempt {attempt}): {reason}; retrying (Ctrl-C stops)");
                bool lost = false;
                connection.ConnectionDisconnected += (_, _) =>
                {
                    lost = true;
                    Console.Error.WriteLine($"loomsched: note: lost the connection to {url}; reconnecting");
                    return ValueTask.CompletedTask;
                };
                connection.ConnectionOpened += (_, _) =>
                {
                    if (lost)
                    {
                        lost = false;
                        Console.Error.WriteLine($"loomsched: note: reconnected to {url}");
                    }
                    return ValueTask.CompletedTask;
                };
            }
            return connection;
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException)
        {
            Console.Error.WriteLine($"loomsched: error: cannot connect to {url}: {report.FailureReason()}");
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        await connection.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    /// <summary>Hands the server's errors (the client's "Server error …" lines) to a callback; the rest goes nowhere.</summary>
    private sealed class ServerErrors(Action<string>? serverError) : ILoggerFactory, ILogger
    {
        private const int Protocol = 1005; // NATS.Client.Core's NatsLogEvents.Protocol

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => serverError is not null && logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (serverError is not null && eventId.Id == Protocol && formatter(state, exception) is { } message
                && message.StartsWith("Server error", StringComparison.Ordinal))
            {
                serverError(message["Server error".Length..].Trim().TrimStart(':').Trim().Trim('\''));
            }
        }
    }
}
