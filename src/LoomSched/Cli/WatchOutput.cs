using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LoomSched.Daemon;

/// <summary>
/// The standard output of <c>watch</c>, which writes until it is stopped: a write that fails because the reader is gone
/// (<c>watch … | head -1</c>) says so, where Console ignores the broken pipe and <c>watch</c> would run on for ever.
/// </summary>
internal sealed class WatchOutput : IDisposable
{
    // Console.Out's encoding: the lines are the bytes Console.Out.WriteLine wrote.
    private readonly Encoding _encoding = Console.OutputEncoding;
    private readonly Stream _stream;

    public WatchOutput()
    {
        // A pipe or a socket is written with write(2), which fails with EPIPE once the reader is gone. A file keeps
        // Console's stream: a FileStream writes a seekable file at its own offset, over what stderr appends to it.
        FileStream? direct = null;
        try
        {
            direct = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // stdout is closed or not writable: Console's stream drops what is written, as before.
        }
        if (direct is { CanSeek: false })
        {
            _stream = direct;
        }
        else
        {
            direct?.Dispose();
            _stream = Console.OpenStandardOutput();
        }
    }

    /// <summary>Writes a line of text and a line break; false when the reader is gone.</summary>
    public bool WriteLine(string line) => Write(_encoding.GetBytes(line + "\n"));

    /// <summary>Writes the bytes as they are; false when the reader is gone.</summary>
    public bool Write(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _stream.Write(bytes);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public void Dispose() => _stream.Dispose();
}
