using System.Globalization;
using LoomSched.Expansion;
using LoomSched.Files;

namespace LoomSched.BuiltIns;

/// <summary>
/// The built-ins' reads of a file, with bounds. A path to the wrong file (a device such as <c>/dev/zero</c>, a log of
/// gigabytes) fails the fire with what is wrong instead of filling the memory. A read that never returns (a FIFO without
/// a writer, a network file system that stopped answering) holds one thread of its own, whatever the number of fires:
/// never a pool thread that the schedules need (<see cref="BoundedRead"/>).
/// </summary>
internal static class BoundedFile
{
    /// <summary>The largest file a built-in reads: it holds the maps of one fire, read whole at every fire.</summary>
    public const int MaxFileBytes = 256 << 20;

    /// <summary>The longest line <c>lines_file</c> reads: more than a NATS message may carry (1 MiB by default).</summary>
    public const int MaxLineBytes = 1 << 20;

    /// <summary>
    /// The whole file, or a failure of the fire when it cannot be read, has more than <see cref="MaxFileBytes"/> bytes or
    /// (with <paramref name="lines"/>) a line of more than <see cref="MaxLineBytes"/>. A fire that finds the file's
    /// earlier read still under way waits for it (as long as the expansion may), then reads the file again.
    /// </summary>
    public static Task<byte[]> ReadAllBytesAsync(string function, string path, bool lines, CancellationToken cancellationToken) =>
        BoundedRead.ReadAsync(path, MaxFileBytes, $"{function} read", lines ? file => new LineBound(function, path, file) : null,
            error => error switch
            {
                FileTooLargeException => TooLarge(function, path),
                _ when FileErrors.IsReadFailure(error) => FileErrors.CannotRead(function, path, error),
                _ => error,
            },
            cancellationToken);

    private static ExpansionException TooLarge(string function, string path) =>
        new($"{function}: '{path}' is larger than {Size(MaxFileBytes)}, which it reads whole at every fire: is it the file meant?");

    private static string Size(int bytes) => (bytes >> 20).ToString(CultureInfo.InvariantCulture) + " MiB";

    /// <summary>Passes the bytes through, counting those since the last line break.</summary>
    private sealed class LineBound(string function, string path, Stream inner) : Stream
    {
        private long _run; // bytes since the last line break
        private long _line = 1;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int read = inner.Read(buffer, offset, count);
            var rest = buffer.AsSpan(offset, read);
            while (true)
            {
                int end = rest.IndexOfAny((byte)'\n', (byte)'\r');
                _run += end < 0 ? rest.Length : end;
                if (_run > MaxLineBytes)
                {
                    throw new ExpansionException(
                        $"{function}: line {_line.ToString(CultureInfo.InvariantCulture)} of '{path}' is longer than {Size(MaxLineBytes)}, more than a message may carry: is it a text file of one item per line?");
                }
                if (end < 0)
                {
                    return read;
                }
                _line += rest[end] == '\n' ? 1 : 0;
                _run = 0;
                rest = rest[(end + 1)..];
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
