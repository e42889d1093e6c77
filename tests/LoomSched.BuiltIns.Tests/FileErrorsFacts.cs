namespace LoomSched.BuiltIns.Tests;

/// <summary>
/// Why a file could not be read, told by the exception's type and errno in the shell's words: the exception's own
/// message is a bare resource key in the published binary, so it never shows.
/// </summary>
public sealed class FileErrorsFacts
{
    private const string Absent = "/nonexistent/loomsched/sessions.txt";

    public static TheoryData<Exception, string> Failures() => new()
    {
        { new FileNotFoundException("IO_FileNotFound_FileName"), "no such file or directory" },
        { new DirectoryNotFoundException("IO_PathNotFound_Path"), "no such file or directory" },
        { new UnauthorizedAccessException("UnauthorizedAccess_IODenied_Path"), "permission denied" },
        { new PathTooLongException("IO_PathTooLong_Path"), "the path is too long" },
        { new IOException("Input/output error", 5), "input/output error" },
        { new IOException("ELOOP", 40), "too many levels of symbolic links" },
        { new IOException("an errno of its own", 122), "the system refused it (errno 122)" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void A_read_failure_is_explained_by_its_type_and_errno_not_its_message(Exception failure, string reason) =>
        Assert.Equal($"lines_file: cannot read '{Absent}': {reason}", FileErrors.CannotRead("lines_file", Absent, failure).Message);

    [Fact]
    public void A_directory_refused_as_an_access_is_called_a_directory() =>
        Assert.Equal("it is a directory, not a file", FileErrors.Reason(new UnauthorizedAccessException(), Path.GetTempPath()));

    [Fact]
    public void The_failure_underneath_is_kept_for_debugging()
    {
        var failure = new FileNotFoundException();
        Assert.Same(failure, FileErrors.CannotRead("json_file", Absent, failure).InnerException);
    }
}
