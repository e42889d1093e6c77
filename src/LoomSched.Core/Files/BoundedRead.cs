using System.Runtime.ExceptionServices;

namespace LoomSched.Files;

/// <summary>
/// Reads a whole file with a bound on its size, on a thread of its own: an open or a read that never returns (a FIFO
/// without a writer, a network file system that stopped answering) holds that thread, never a pool thread, and the
/// caller gives up at its own deadline. One read of a file at a time: a caller that finds one under way waits for it to
/// end and then reads the file itself, so that it gets the content of now, and callers on a FIFO without a writer hold
/// one thread however many they are.
/// </summary>
internal static class BoundedRead
{
    /// <summary>The first chunk of a file that does not say its length; later chunks grow with what was read.</summary>
    private const int FirstChunk = 80 << 10;

    /// <summary>The largest chunk: what a chunk can leave unused at the end of the file.</summary>
    private const int LargestChunk = 4 << 20;

    private static readonly Lock Gate = new();

    /// <summary>
    /// The paths whose file is being looked up, with the read doing it: a file system that does not answer holds one
    /// lookup of a path, and the callers after it wait for that one.
    /// </summary>
    private static readonly Dictionary<string, Task<Outcome>> Looking = new(StringComparer.Ordinal);

    /// <summary>The files being read, with the read under way.</summary>
    private static readonly Dictionary<FileKey, Task<Outcome>> Reading = [];

    /// <summary>
    /// The file's bytes, at most <paramref name="limit"/>. Fails with <see cref="FileTooLargeException"/> over the limit
    /// (at once when the file says its length), with what the open or the read threw, or as canceled when
    /// <paramref name="cancellationToken"/> is canceled first: the read goes on, and the next caller waits for it.
    /// </summary>
    /// <param name="path">The file; reads of the same file (by device and inode) wait for each other.</param>
    /// <param name="limit">The most bytes accepted.</param>
    /// <param name="threadName">The reading thread's name, as <c>ps</c> and <c>/proc</c> show it (15 bytes at most).</param>
    /// <param name="wrap">Wraps the opened file in a stream that checks what passes (it may throw), or null.</param>
    /// <param name="fail">Maps a failure to the caller's own exception, on the reading thread; or null.</param>
    /// <param name="cancellationToken">Ends the wait (not the read).</param>
    public static async Task<byte[]> ReadAsync(string path, int limit, string threadName, Func<Stream, Stream>? wrap,
        Func<Exception, Exception>? fail, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Task<Outcome>? earlier;
            Job? read = null;
            lock (Gate)
            {
                if (!Looking.TryGetValue(path, out earlier))
                {
                    read = new Job(path, limit, wrap, fail);
                    new Thread(read.Run) { IsBackground = true, Name = threadName }.Start();
                    Looking.Add(path, read.Done);
                }
            }
            if (read is null)
            {
                // Another caller's read has not got past the lookup: its file system does not answer (or it just began).
                await earlier!.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            var outcome = await read.Done.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (outcome.Earlier is { } underWay)
            {
                // Its bytes may be older than this call: wait for it to end, then read again.
                await underWay.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            outcome.Failure?.Throw();
            return outcome.Bytes!;
        }
    }

    /// <summary>What a read ended with: the bytes, a failure, or the read of the same file that was under way.</summary>
    private sealed record Outcome(byte[]? Bytes, ExceptionDispatchInfo? Failure, Task<Outcome>? Earlier);

    private sealed class Job(string path, int limit, Func<Stream, Stream>? wrap, Func<Exception, Exception>? fail)
    {
        // Never faulted: a caller that stopped waiting leaves no unobserved exception behind.
        private readonly TaskCompletionSource<Outcome> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Outcome> Done => _done.Task;

        public void Run()
        {
            bool looking = true;
            FileKey? reading = null;
            Outcome outcome;
            try
            {
                var file = FileKey.Of(path);
                Task<Outcome>? earlier;
                lock (Gate)
                {
                    Looking.Remove(path);
                    looking = false;
                    if (!Reading.TryGetValue(file, out earlier))
                    {
                        Reading.Add(file, Done);
                        reading = file;
                    }
                }
                outcome = earlier is null ? new Outcome(ReadAll(path, limit, wrap), null, null) : new Outcome(null, null, earlier);
            }
            catch (Exception e)
            {
                outcome = new Outcome(null, ExceptionDispatchInfo.Capture(Map(e)), null);
            }
            lock (Gate)
            {
                if (looking)
                {
                    Looking.Remove(path);
                }
                if (reading is { } file)
                {
                    Reading.Remove(file);
                }
            }
            _done.SetResult(outcome);
        }

        private Exception Map(Exception error)
        {
            try
            {
                return fail?.Invoke(error) ?? error;
            }
            catch (Exception e)
            {
                return e;
            }
        }
    }

    private static byte[] ReadAll(string path, int limit, Func<Stream, Stream>? wrap)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0, FileOptions.SequentialScan);
        // A regular file says its length: over the limit, it is refused before a byte is read. A device, a pipe or
        // /proc says 0, however much it holds: read in chunks until its end or one byte past the limit.
        long length = file.CanSeek ? file.Length : 0;
        if (length > limit)
        {
            throw new FileTooLargeException(length);
        }
        var stream = wrap?.Invoke(file) ?? file;
        var chunks = new List<byte[]>();
        long total = 0;
        // A file that says its length gets a chunk of that length: when it does not grow meanwhile, that chunk is the result.
        long size = length > 0 ? length : FirstChunk;
        while (true)
        {
            var chunk = new byte[Math.Min(size, limit + 1L - total)];
            int filled = Fill(stream, chunk);
            total += filled;
            if (total > limit)
            {
                throw new FileTooLargeException(total);
            }
            if (filled < chunk.Length)
            {
                return Join(chunks, chunk, filled, (int)total);
            }
            chunks.Add(chunk);
            size = Math.Clamp(total, FirstChunk, LargestChunk);
        }
    }

    private static int Fill(Stream stream, byte[] chunk)
    {
        int filled = 0;
        int n;
        while (filled < chunk.Length && (n = stream.Read(chunk, filled, chunk.Length - filled)) > 0)
        {
            filled += n;
        }
        return filled;
    }

    /// <summary>The chunks in one array: the full ones, then the first <paramref name="filled"/> bytes of the last.</summary>
    private static byte[] Join(List<byte[]> chunks, byte[] last, int filled, int total)
    {
        if (filled == 0 && chunks.Count == 1)
        {
            return chunks[0];
        }
        var bytes = new byte[total];
        int at = 0;
        foreach (var chunk in chunks)
        {
            chunk.CopyTo(bytes, at);
            at += chunk.Length;
        }
        last.AsSpan(0, filled).CopyTo(bytes.AsSpan(at));
        return bytes;
    }
}
