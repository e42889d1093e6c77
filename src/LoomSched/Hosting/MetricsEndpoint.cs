using System.Globalization;
using System.Net;
using System.Text;
using LoomSched.Control;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoomSched.Daemon.Hosting;

/// <summary>
/// <c>--metrics-address</c>: <c>/metrics</c> (the <c>status</c> counters as Prometheus text, the same as
/// <c>status --format prometheus</c>) and <c>/healthz</c> (200 while the timer loop runs), on .NET's HttpListener.
/// </summary>
internal sealed partial class MetricsEndpoint(MetricsAddress address, SchedulerService scheduler, ILogger<MetricsEndpoint> log)
    : BackgroundService
{
    /// <summary>A loop this late for the time it planned to run again is stuck (the probe never wakes it).</summary>
    public static readonly TimeSpan Stale = TimeSpan.FromSeconds(15);

    private readonly HttpListener _listener = new() { IgnoreWriteExceptions = true };
    private const int NotSupported = 50; // ERROR_NOT_SUPPORTED, as HttpListener reports a name it cannot resolve

    /// <summary>Binds the address before the daemon starts; a port in use or a name that does not resolve is the reason.</summary>
    public bool TryListen(out string? problem)
    {
        foreach (string prefix in address.Prefixes())
        {
            _listener.Prefixes.Add(prefix);
        }
        try
        {
            _listener.Start();
            problem = null;
            return true;
        }
        catch (HttpListenerException ex) when (ex.ErrorCode == NotSupported && address.IsName)
        {
            // HttpListener's own words for a name it cannot resolve are "The request is not supported".
            problem = $"--metrics-address {address}: cannot listen: the name {address.Host} does not resolve to an address; "
                + $"give one of this host's IPv4 addresses, such as 127.0.0.1:{address.Port}, or :{address.Port} for every interface";
            return false;
        }
        catch (Exception ex) when (ex is HttpListenerException or System.Net.Sockets.SocketException)
        {
            problem = $"--metrics-address {address}: cannot listen: {ex.Message}";
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogListening(address.ToString());
        using var stop = stoppingToken.Register(_listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                // Stop() ends a pending wait so: the daemon is stopping.
                break;
            }
            try
            {
                Answer(context);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or HttpListenerException or IOException or InvalidOperationException)
            {
                // The request was bad (the listener answered it itself, e.g. 411) or its client went away: the next one.
            }
        }
    }

    public override void Dispose()
    {
        ((IDisposable)_listener).Dispose();
        base.Dispose();
    }

    private void Answer(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            var (code, type, body) = context.Request.HttpMethod is not ("GET" or "HEAD")
                ? (405, "text/plain; charset=utf-8", "only GET and HEAD are served\n")
                : context.Request.Url?.AbsolutePath switch
                {
                    "/metrics" => Metrics(),
                    "/healthz" => Health(),
                    _ => (404, "text/plain; charset=utf-8", "not found: loomsched serves /metrics and /healthz\n"),
                };
            byte[] bytes = Encoding.UTF8.GetBytes(body);
            response.StatusCode = code;
            response.ContentType = type;
            if (code == 405)
            {
                // A 405 names the methods the resource takes (RFC 9110, 15.5.6).
                response.AddHeader("Allow", "GET, HEAD");
            }
            response.ContentLength64 = bytes.Length;
            if (context.Request.HttpMethod != "HEAD")
            {
                response.OutputStream.Write(bytes);
            }
        }
        finally
        {
            // A response the listener answered itself (a malformed request) is disposed already.
            try
            {
                response.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private (int, string, string) Metrics() => scheduler.Numbers() is { } status
        ? (200, "text/plain; version=0.0.4; charset=utf-8", StatusMetrics.Of(status))
        : (503, "text/plain; charset=utf-8", "the scheduler is starting\n");

    private (int, string, string) Health()
    {
        const string Text = "text/plain; charset=utf-8";
        return scheduler.LoopProgress switch
        {
            null or { SinceRan: null } => (503, Text, "starting: the timer loop has not run yet\n"),
            { Overdue: { } late, SinceRan: { } since } when late > Stale => (503, Text, string.Create(CultureInfo.InvariantCulture,
                $"unhealthy: the timer loop is {late.TotalSeconds:0.0} s late to run again (it last ran {since.TotalSeconds:0.0} s ago)\n")),
            { SinceRan: { } since } => (200, Text, string.Create(CultureInfo.InvariantCulture,
                $"ok: the timer loop ran {since.TotalSeconds:0.0} s ago; {scheduler.NatsState}\n")),
        };
    }

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "metrics on http://{Address}/metrics and /healthz")]
    private partial void LogListening(string address);
}
