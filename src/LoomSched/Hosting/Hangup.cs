using System.Runtime.InteropServices;

namespace LoomSched.Daemon.Hosting;

/// <summary>
/// SIGHUP for the whole of <c>run</c>. Its default action ends the process, so it is taken before the config is read;
/// a reload asked before the daemon can reload is held, and done once when it can (the file may have changed since).
/// </summary>
internal static class Hangup
{
    private static readonly Lock Gate = new();
    private static PosixSignalRegistration? s_registration;
    private static Action? s_reload;
    private static bool s_pending;

    private const int SigHup = 1; // the same number on every Linux architecture
    private const nint SigDefault = 0, SigIgnore = 1;

    /// <summary>Takes SIGHUP from now until the process ends; until a reload is attached, a signal is only held.</summary>
    public static void Take()
    {
        lock (Gate)
        {
            if (s_registration is null)
            {
                // Started with SIGHUP ignored (nohup, some supervisors), the runtime leaves it ignored and a reload by
                // signal would silently do nothing: the daemon takes it over, as its action is a reload, not an exit.
                nint previous = Signal(SigHup, SigDefault);
                if (previous != SigIgnore && previous != SigDefault)
                {
                    Signal(SigHup, previous);
                }
                s_registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
            }
        }
    }

    /// <summary>
    /// Calls <paramref name="reload"/> at each SIGHUP until the result is disposed; <paramref name="pending"/> says
    /// whether one (or more) came before, which the caller answers with one reload of its own.
    /// </summary>
    public static IDisposable Attach(Action reload, out bool pending)
    {
        Take();
        lock (Gate)
        {
            pending = s_pending;
            s_pending = false;
            s_reload = reload;
        }
        return new Detach(reload);
    }

    private static void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Action? reload;
        lock (Gate)
        {
            reload = s_reload;
            s_pending |= reload is null;
        }
        reload?.Invoke();
    }

    // signal(2) takes and returns a handler as a number: a blittable call (the binary is for Linux only).
    [DllImport("libc", EntryPoint = "signal")]
    private static extern nint Signal(int signal, nint handler);

    private sealed class Detach(Action reload) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate)
            {
                if (ReferenceEquals(s_reload, reload))
                {
                    s_reload = null;
                }
            }
        }
    }
}
