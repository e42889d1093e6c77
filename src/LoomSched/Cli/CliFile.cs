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
        var read = FileRead.Within(path, limit, ConfigSource.ReadWait, threadName);
        // The read of a FIFO that timed out goes on, on a background thread of its own: the process ends without it.
        problem = read.Problem switch
        {
            FileReadProblem.None => null,
            FileReadProblem.EmptyPath => "the path is empty; name the file",
            FileReadProblem.Directory => "is a directory; name the file itself",
            FileReadProblem.TimedOut => $"could not be read {FileRead.WaitText(ConfigSource.ReadWait)}: is it a FIFO or a device waiting for input, or on a file system that does not answer?",
            FileReadProblem.TooLarge => tooLarge,
            FileReadProblem.NotFound => "no such file",
            FileReadProblem.Denied => "cannot be read: permission denied",
            FileReadProblem.PathTooLong => "the path is too long for the file system; check the path",
            FileReadProblem.InvalidPath => "the path is not valid; check the path",
            _ => $"cannot be read: {read.Detail}",
        };
        return read.Bytes;
    }
}
