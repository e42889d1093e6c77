using System.Globalization;

namespace LoomSched.Files;

/// <summary>What stopped a <see cref="FileRead"/>; each caller words it for its own reader.</summary>
internal enum FileReadProblem
{
    None,
    EmptyPath,
    Directory,
    TimedOut,
    TooLarge,
    NotFound,
    Denied,
    PathTooLong,
    InvalidPath,
    Failed,
}

/// <summary>
/// A whole file read with a bound on its size and on the wait (<see cref="BoundedRead"/>), for a caller that waits on
/// its own thread: the config at start or reload, a file named on the command line. The bytes, or why not.
/// </summary>
/// <param name="Bytes">The file's bytes, when read.</param>
/// <param name="Problem">Why not.</param>
/// <param name="Size">With <see cref="FileReadProblem.TooLarge"/>: the size as far as it is known.</param>
/// <param name="Detail">With <see cref="FileReadProblem.Failed"/>: the system's message.</param>
internal readonly record struct FileRead(byte[]? Bytes, FileReadProblem Problem, long Size = 0, string? Detail = null)
{
    /// <summary>Reads <paramref name="path"/>, waiting at most <paramref name="wait"/> (the read itself goes on).</summary>
    public static FileRead Within(string path, int limit, TimeSpan wait, string threadName)
    {
        if (path.Length == 0)
        {
            return new FileRead(null, FileReadProblem.EmptyPath);
        }
        if (System.IO.Directory.Exists(path))
        {
            return new FileRead(null, FileReadProblem.Directory);
        }
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            return new FileRead(BoundedRead.ReadAsync(path, limit, threadName, wrap: null, fail: null, timeout.Token).GetAwaiter().GetResult(), FileReadProblem.None);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new FileRead(null, FileReadProblem.TimedOut);
        }
        catch (FileTooLargeException e)
        {
            return new FileRead(null, FileReadProblem.TooLarge, e.Size);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new FileRead(null, ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => FileReadProblem.NotFound,
                UnauthorizedAccessException => FileReadProblem.Denied,
                PathTooLongException => FileReadProblem.PathTooLong,
                ArgumentException or NotSupportedException => FileReadProblem.InvalidPath,
                _ => FileReadProblem.Failed,
            }, Detail: ex.Message);
        }
    }

    /// <summary>The bytes without a leading UTF-8 byte order mark (some Windows editors write one; it is not text).</summary>
    public static ReadOnlySpan<byte> WithoutByteOrderMark(ReadOnlySpan<byte> bytes) =>
        bytes.StartsWith("\uFEFF"u8) ? bytes[3..] : bytes;

    /// <summary>"within 10 s": how long a caller waited, as its message says it.</summary>
    public static string WaitText(TimeSpan wait) => $"within {wait.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s";
}
