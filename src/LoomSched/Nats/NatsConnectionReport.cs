using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace LoomSched.Daemon.Nats;

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
