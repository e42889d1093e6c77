using System.Globalization;

namespace LoomSched.Benchmarks.Support;

/// <summary>One thread's counters from <c>/proc/PID/task/TID</c>.</summary>
internal readonly record struct ThreadSample(int Tid, string Name, long RunNs, long Voluntary, long Involuntary);

/// <summary>
/// A process's CPU and scheduling counters at one instant, read from /proc. CPU time comes from each thread's
/// <c>schedstat</c> (nanoseconds), because <c>/proc/PID/stat</c> counts in clock ticks (10 ms), too coarse for an idle
/// budget of 20 ms; <c>stat</c>'s ticks are kept as a cross-check (they include threads that have exited). Context
/// switches are summed over threads: <c>/proc/PID/status</c> alone holds only the main thread's.
/// </summary>
internal sealed record ProcSample(DateTime At, long StatTicks, IReadOnlyDictionary<int, ThreadSample> Threads)
{
    private static readonly double TickMs = 1000.0 / 100; // USER_HZ is 100 on Linux

    public static ProcSample Read(int pid)
    {
        var at = DateTime.UtcNow;
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the parenthesised command name: state is field 3; utime and stime are fields 14 and 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        var threads = new Dictionary<int, ThreadSample>();
        foreach (var dir in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                int tid = int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
                string name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                long run = long.Parse(File.ReadAllText(Path.Combine(dir, "schedstat")).Split(' ')[0], CultureInfo.InvariantCulture);
                long vol = 0, invol = 0;
                foreach (var line in File.ReadLines(Path.Combine(dir, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        vol = long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                    }
                    else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        invol = long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                    }
                }
                threads[tid] = new ThreadSample(tid, name, run, vol, invol);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                // The thread exited while we read it.
            }
        }
        return new ProcSample(at, ticks, threads);
    }

    /// <summary>What happened between two samples (threads that exited in between are counted up to the first sample only).</summary>
    public ProcDelta Since(ProcSample before)
    {
        var perThread = new List<ThreadSample>();
        foreach (var (tid, now) in Threads)
        {
            var then = before.Threads.TryGetValue(tid, out var b) ? b : new ThreadSample(tid, now.Name, 0, 0, 0);
            var d = new ThreadSample(tid, now.Name, now.RunNs - then.RunNs, now.Voluntary - then.Voluntary, now.Involuntary - then.Involuntary);
            if (d.RunNs != 0 || d.Voluntary != 0 || d.Involuntary != 0)
            {
                perThread.Add(d);
            }
        }
        int exited = before.Threads.Keys.Count(t => !Threads.ContainsKey(t));
        return new ProcDelta(
            (At - before.At).TotalSeconds,
            perThread.Sum(t => t.RunNs) / 1e6,
            (StatTicks - before.StatTicks) * TickMs,
            perThread.Sum(t => t.Voluntary),
            perThread.Sum(t => t.Involuntary),
            exited,
            [.. perThread.OrderByDescending(t => t.Voluntary + t.Involuntary)]);
    }

    /// <summary>A value from <c>/proc/PID/status</c> in kB (VmRSS, VmHWM, Threads ...).</summary>
    public static long StatusValue(int pid, string key)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                var text = line[(key.Length + 1)..].Trim();
                int space = text.IndexOf(' ');
                return long.Parse(space < 0 ? text : text[..space], CultureInfo.InvariantCulture);
            }
        }
        return -1;
    }
}

/// <summary>CPU and wake-ups between two samples.</summary>
internal sealed record ProcDelta(
    double Seconds, double CpuMs, double StatCpuMs, long Voluntary, long Involuntary, int ThreadsExited,
    IReadOnlyList<ThreadSample> Threads)
{
    public long Switches => Voluntary + Involuntary;
}
