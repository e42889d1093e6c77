using LoomSched.Expansion;

namespace LoomSched.BuiltIns;

/// <summary>
/// Why a file could not be read, in the words of the shell (<c>no such file or directory</c>, <c>permission denied</c>),
/// told by the exception's type and errno. The exception's message is never shown: in the published binary
/// (UseSystemResourceKeys) it is a bare resource key such as <c>IO_PathNotFound_Path, /var/lib/x</c>.
/// </summary>
internal static class FileErrors
{
    /// <summary>The failure of a built-in that reads <paramref name="path"/>: <c>NAME: cannot read 'PATH': REASON</c>.</summary>
    public static ExpansionException CannotRead(string function, string path, Exception error) =>
        new($"{function}: cannot read '{path}': {Reason(error, path)}", error);

    /// <summary>Whether <paramref name="error"/> is one that reading a file throws (and <see cref="Reason"/> explains).</summary>
    public static bool IsReadFailure(Exception error) => error is IOException or UnauthorizedAccessException;

    internal static string Reason(Exception error, string path)
    {
        // Opening a directory is refused as an access to it (EACCES): say what it is instead.
        if (Directory.Exists(path))
        {
            return "it is a directory, not a file";
        }
        return error switch
        {
            FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
            UnauthorizedAccessException => "permission denied",
            PathTooLongException => "the path is too long",
            // Other failures carry the errno as their HResult on Linux.
            IOException { HResult: 5 } => "input/output error",
            IOException { HResult: 11 } => "the file is locked",
            IOException { HResult: 20 } => "a part of the path is not a directory",
            IOException { HResult: 23 or 24 } => "too many open files",
            IOException { HResult: 40 } => "too many levels of symbolic links",
            IOException { HResult: > 0 and < 4096 } => $"the system refused it (errno {error.HResult})",
            _ => $"the read failed (HRESULT 0x{error.HResult:X8})",
        };
    }
}
