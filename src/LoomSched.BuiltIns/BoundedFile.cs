using System.Globalization;
using LoomSched.Expansion;

namespace LoomSched.BuiltIns;

/// <summary>
/// The built-ins' reads of a file, with bounds. A path to the wrong file (a device such as <c>/dev/zero</c>, a log of
/// gigabytes) fails the fire with what is wrong instead of filling the memory. A read that never returns (a FIFO without
/// a writer, a network file system that stopped answering) holds one thread of its own, whatever the number of fires:
/// never a pool thread that the schedules need.
/// </summary>
internal static class BoundedFile
{
    /// <summary>The largest file a built-in reads: it holds the maps of one fire, read whole at every fire.</summary>
    public const int MaxFileBytes = 256 << 20;

    /// <summary>The longest line <c>lines_file</c> reads: more than a NATS message may carry (1 MiB by default).</summary>
    public const int MaxLineBytes = 1 << 20;

    /// <summary>The read of each path under way: a fire waits for the earlier one instead of starting a second.</summary>
    private static readonly Dictionary<string, Task> Reading = new(StringComparer.Ordinal);

    /// <summary>
    /// The whole file, or a failure of the fire when it cannot be read, has more than <see cref="MaxFileBytes"/> bytes or
    /// (with <paramref name="lines"/>) a line of more than <see cref="MaxLineBytes"/>.
    /// </summary>
    public static async Task<byte[]> ReadAllBytesAsync(string function, string path, bool lines, CancellationToken cancellationToken)
    {
        var read = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        while (true)
        {
            Task? earlier;
            lock (Reading)
            {
                if (!Reading.TryGetValue(path, out earlier))
                {
                    Reading.Add(path, read.Task);
                    break;
                }
            }
            // An earlier fire's read of this path has not returned: wait for it (as long as the expansion may).
            await Task.WhenAny(earlier).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        var thread = new Thread(() =>
        {
            byte[]? bytes = null;
            Exception? failure = null;
            try
            {
                bytes = Read(function, path, lines);
            }
            catch (Exception e)
            {
                failure = FileErrors.IsReadFailure(e) ? FileErrors.CannotRead(function, path, e) : e;
            }
            lock (Reading)
            {
                Reading.Remove(path);
            }
            if (failure is null)
            {
                read.SetResult(bytes!);
            }
            else
            {
                read.SetException(failure);
            }
        })
        { IsBackground = true, Name = $"{function} read" };
        thread.Start();
        return await read.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static byte[] Read(string function, string path, bool lines)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        // A regular file says its length; a device or a pipe says 0 and is read until its end or the bound.
        long length = file.CanSeek ? file.Length : 0;
        if (length > MaxFileBytes)
        {
            throw TooLarge(function, path);
        }
        Stream stream = lines ? new LineBound(function, path, file) : file;
        using var bytes = new MemoryStream(length > 0 ? (int)length : 0);
        var chunk = new byte[81920];
        int n;
        while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (bytes.Length + n > MaxFileBytes)
            {
                throw TooLarge(function, path);
            }
            bytes.Write(chunk, 0, n);
        }
        return bytes.ToArray();
    }

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
