using System.Diagnostics;

namespace LoomSched.Tests.Support;

/// <summary>FIFOs for the tests of reads that never return, and the threads that wait on them.</summary>
internal static class Fifos
{
    public static void Make(string path)
    {
        using var mkfifo = Process.Start("mkfifo", path);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    /// <summary>
    /// Opens the FIFO for writing, which lets a reader's open return, writes <paramref name="bytes"/> and closes it (the
    /// reader's end of file). Shared, as the reader's open is: an exclusive open could meet its lock. On a thread of its
    /// own: the open waits for a reader, and a test that finds none fails instead of hanging.
    /// </summary>
    public static Task WriteAsync(string path, byte[] bytes) =>
        Task.Factory.StartNew(() =>
        {
            using var writer = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            writer.Write(bytes);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>The process's threads of that name (as <c>/proc</c> shows it, 15 bytes at most); one that ends meanwhile is none.</summary>
    public static int Threads(string name) => Directory.GetDirectories("/proc/self/task").Count(task =>
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).TrimEnd() == name;
        }
        catch (IOException)
        {
            return false;
        }
    });

    /// <summary>
    /// The number of threads of that name once it is <paramref name="expected"/>, or after 10 s: a thread that ended
    /// its work can take a moment to leave /proc, and another test's short read can pass by.
    /// </summary>
    public static async Task<int> ThreadsSettleAsync(string name, int expected)
    {
        var deadline = Stopwatch.StartNew();
        int count;
        while ((count = Threads(name)) != expected && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }
        return count;
    }
}
