using System.Globalization;
using LoomSched.Expansion;

namespace LoomSched.BuiltIns;

/// <summary>
/// The built-ins' reads of a file, with bounds: a path to the wrong file (a device such as <c>/dev/zero</c>, a log of
/// gigabytes) fails the fire with what is wrong instead of filling the memory until <c>expand_timeout_seconds</c>.
/// </summary>
internal static class BoundedFile
{
    /// <summary>The largest file <c>json_file</c> reads: it holds the maps of one fire, read whole at every fire.</summary>
    public const int MaxJsonBytes = 256 << 20;

    /// <summary>The longest line <c>lines_file</c> reads: more than a NATS message may carry (1 MiB by default).</summary>
    public const int MaxLineBytes = 1 << 20;

    /// <summary>Opens <paramref name="path"/> to read, or fails the fire saying why it cannot be read.</summary>
    public static FileStream Open(string function, string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, useAsync: true);
        }
        catch (Exception e) when (FileErrors.IsReadFailure(e))
        {
            throw FileErrors.CannotRead(function, path, e);
        }
    }

    /// <summary>The whole file, or a failure of the fire when it has more than <paramref name="max"/> bytes.</summary>
    public static async Task<byte[]> ReadAllBytesAsync(string function, string path, int max, CancellationToken cancellationToken)
    {
        using var stream = Open(function, path);
        // A regular file says its length; a device or a pipe says 0 and is read until its end or the bound.
        long length = stream.CanSeek ? stream.Length : 0;
        if (length > max)
        {
            throw TooLarge(function, path, max);
        }
        using var bytes = new MemoryStream(length > 0 ? (int)length : 0);
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (bytes.Length + read > max)
            {
                throw TooLarge(function, path, max);
            }
            bytes.Write(chunk, 0, read);
        }
        return bytes.ToArray();
    }

    private static ExpansionException TooLarge(string function, string path, int max) =>
        new($"{function}: '{path}' is larger than {Size(max)}, which it reads whole at every fire: is it the file meant?");

    /// <summary>A reader of <paramref name="stream"/>'s lines that fails the fire at a line of more than <see cref="MaxLineBytes"/>.</summary>
    public static StreamReader LineReader(string function, string path, Stream stream) =>
        new(new LineBound(function, path, stream), detectEncodingFromByteOrderMarks: true);

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

        public override int Read(byte[] buffer, int offset, int count) => Check(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            return Check(buffer.Span[..read]);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Check(ReadOnlySpan<byte> read)
        {
            int length = read.Length;
            while (true)
            {
                int end = read.IndexOfAny((byte)'\n', (byte)'\r');
                _run += end < 0 ? read.Length : end;
                if (_run > MaxLineBytes)
                {
                    throw new ExpansionException(
                        $"{function}: line {_line.ToString(CultureInfo.InvariantCulture)} of '{path}' is longer than {Size(MaxLineBytes)}, more than a message may carry: is it a text file of one item per line?");
                }
                if (end < 0)
                {
                    return length;
                }
                _line += read[end] == '\n' ? 1 : 0;
                _run = 0;
                read = read[(end + 1)..];
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
