using System.Globalization;
using LoomSched.Config;
using LoomSched.Files;

namespace LoomSched.Daemon;

/// <summary>
/// Reads a file named on the command line (an entry, a creds, key or certificate file) with a bound on its size and on
/// the wait, as the config is read: <c>/dev/zero</c> or a FIFO without a writer is a one-line usage error, not a process
/// that fills the memory or never ends.
/// </summary>
internal static class CliFile
{
    /// <summary>
    /// The file's bytes, or null with <paramref name="problem"/> saying in a few words what is wrong (it does not exist,
    /// is a directory, cannot be read in time); over <paramref name="limit"/>, the problem is <paramref name="tooLarge"/>.
    /// </summary>
    public static byte[]? Read(string path, int limit, string threadName, string tooLarge, out string? problem)
    {
        problem = null;
        if (path.Length == 0)
        {
            problem = "the path is empty; name the file";
            return null;
        }
        if (Directory.Exists(path))
        {
            problem = "is a directory; name the file itself";
            return null;
        }
        using var timeout = new CancellationTokenSource(ConfigSource.ReadWait);
        try
        {
            return BoundedRead.ReadAsync(path, limit, threadName, wrap: null, fail: null, timeout.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            // The read goes on, on a background thread of its own: the process ends without it.
            problem = $"could not be read within {ConfigSource.ReadWait.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s: is it a FIFO or a device waiting for input, or on a file system that does not answer?";
        }
        catch (FileTooLargeException)
        {
            problem = tooLarge;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            problem = ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file",
                UnauthorizedAccessException => "cannot be read: permission denied",
                // The runtime's own messages for these are bare resource keys in the published binary: said here.
                PathTooLongException => "the path is too long for the file system; check the path",
                ArgumentException or NotSupportedException => "the path is not valid; check the path",
                _ => $"cannot be read: {ex.Message}",
            };
        }
        return null;
    }
}
