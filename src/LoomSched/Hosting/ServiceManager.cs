using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Hosting.Systemd;

namespace LoomSched.Daemon.Hosting;

/// <summary>
/// What systemd hears from the daemon on <c>NOTIFY_SOCKET</c> (sd_notify, through Hosting.Systemd's notifier): READY=1
/// once the control subject is subscribed, RELOADING=1 and READY=1 around a reload, STOPPING=1, a STATUS= line with
/// the counters, and WATCHDOG=1 from the timer loop when the unit sets <c>WatchdogSec=</c>. Without a socket
/// (not under systemd) every call does nothing.
/// </summary>
internal sealed class ServiceManager(ISystemdNotifier notifier, TimeSpan? watchdog)
{
    /// <summary>From the environment systemd sets: NOTIFY_SOCKET, and WATCHDOG_USEC for this process (WATCHDOG_PID).</summary>
    public static ServiceManager FromEnvironment()
    {
        TimeSpan? watchdog = null;
        string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out long usec)
            && usec > 0 && (string.IsNullOrEmpty(pid) || pid == Environment.ProcessId.ToString(CultureInfo.InvariantCulture)))
        {
            watchdog = TimeSpan.FromMicroseconds(usec);
        }
        return new ServiceManager(new SystemdNotifier(), watchdog);
    }

    /// <summary>True under a service manager that listens (Type=notify).</summary>
    public bool Enabled => notifier.IsEnabled;

    /// <summary>The unit sets <c>WatchdogSec=</c>: the timer loop must wake to say WATCHDOG=1 even when idle.</summary>
    public bool HasWatchdog => watchdog is not null;

    /// <summary>
    /// How often the timer loop beats: half the watchdog's timeout (at most 5 s), or, without one, at most every 5 s
    /// for the STATUS line, on passes the loop makes anyway.
    /// </summary>
    public TimeSpan HeartbeatPeriod => watchdog is { } w ? TimeSpan.FromTicks(Math.Min(w.Ticks / 2, TimeSpan.FromSeconds(5).Ticks)) : TimeSpan.FromSeconds(5);

    public void Ready(string status) => Send($"READY=1\nSTATUS={OneLine(status)}");

    /// <summary>RELOADING=1 with the monotonic clock's time, as Type=notify-reload wants it.</summary>
    public void Reloading() =>
        Send($"RELOADING=1\nMONOTONIC_USEC={Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000)}\nSTATUS=reloading the config");

    /// <summary>After a reload, applied or refused: the daemon runs (READY=1) and STATUS says which.</summary>
    public void Reloaded(string status) => Ready(status);

    public void Stopping() => Send("STOPPING=1\nSTATUS=stopping: running fires and the publish buffer finish");

    /// <summary>The timer loop's heartbeat: WATCHDOG=1 (with a watchdog) and the current STATUS line.</summary>
    public void Beat(string status) => Send(watchdog is null ? $"STATUS={OneLine(status)}" : $"WATCHDOG=1\nSTATUS={OneLine(status)}");

    private void Send(string state)
    {
        if (!notifier.IsEnabled)
        {
            return;
        }
        try
        {
            notifier.Notify(new ServiceState(state));
        }
        catch (System.Net.Sockets.SocketException)
        {
            // The manager went away (a restart of systemd itself): the daemon goes on; the next call tries again.
        }
    }

    // A newline would start another assignment.
    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
