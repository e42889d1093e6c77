using System.Runtime.InteropServices;

namespace LoomSched.Daemon.Hosting;

/// <summary>
/// The timer loop's last sleep before a slot, to the microsecond (<see cref="Scheduling.EngineOptions.PreciseSleep"/>):
/// <see cref="Thread.Sleep(int)"/> counts whole milliseconds, and rounding up to them made every fire of an instant
/// half a millisecond late on average.
/// </summary>
internal static class PreciseSleep
{
    /// <summary>Sleeps about <paramref name="duration"/> (the kernel adds its timer slack, 50 µs by default).</summary>
    public static void Sleep(TimeSpan duration)
    {
        long micros = Math.Clamp((long)Math.Ceiling(duration.TotalMicroseconds), 1, 999_999);
        // A signal (SIGHUP for a reload) ends it early; the loop then sleeps again for what is left.
        _ = USleep((uint)micros);
    }

    // usleep takes a number, not a pointer: a blittable call that needs neither marshalling nor unsafe code (which
    // LibraryImport would). POSIX marks it obsolescent; glibc keeps it (on nanosleep), and the binary is for Linux only.
    [DllImport("libc", EntryPoint = "usleep")]
    private static extern int USleep(uint microseconds);
}
