using System.Buffers;

namespace LoomSched.Daemon.Logging;

/// <summary>
/// Where log lines go: a buffer that one background thread writes to stderr, many lines per write. Loggers only
/// copy bytes under a short lock, so a fire never waits for a system call or another thread's line; a thousand fires
/// in the same second cost one write, not a thousand. Lines keep the order
/// in which they were logged. Errors are written before <see cref="Append"/> returns, at once rather than after the
/// gather, so that a crash right after cannot lose them; past <see cref="MaxPendingBytes"/> of unwritten lines, loggers wait for stderr as a direct write
/// would. The thread sleeps until a line comes: an idle daemon does not wake up for its logs.
/// </summary>
internal sealed class LineSink : IDisposable
{
    /// <summary>Unwritten lines allowed before loggers wait (stderr is a blocked pipe, or the reader is slow).</summary>
    public const int MaxPendingBytes = 4 << 20;

    /// <summary>
    /// How long the writer lets lines gather after the first one arrives: without it, fires spread over time (many
    /// staggered schedules) wake the writer once per line. A line waits at most this long to reach stderr.
    /// </summary>
    public static readonly TimeSpan GatherDelay = TimeSpan.FromMilliseconds(5);

    private readonly Stream _out;
    private readonly object _sync = new();
    private readonly Thread _writer;
    // Small at start (a page each, not 64 KB): they grow to the largest burst and keep that size.
    private ArrayBufferWriter<byte> _pending = new(1 << 12);
    private ArrayBufferWriter<byte> _writing = new(1 << 12);
    private long _appended;
    private long _written;
    private bool _stopping;
    private bool _stopped;
    private bool _urgent; // under _sync: a durable line waits, and the gather is cut short for it

    public LineSink(Stream output)
    {
        _out = output;
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "loomsched log" };
        _writer.Start();
    }

    /// <summary>Queues one line (with its newline); with <paramref name="durable"/>, returns once it is written.</summary>
    public void Append(ReadOnlySpan<byte> line, bool durable)
    {
        lock (_sync)
        {
            if (_stopped)
            {
                // After shutdown (a late line from a library): write it ourselves.
                Write(line);
                return;
            }
            while (_pending.WrittenCount >= MaxPendingBytes && !_stopped)
            {
                Monitor.Wait(_sync);
            }
            bool wasEmpty = _pending.WrittenCount == 0;
            _pending.Write(line);
            _appended += line.Length;
            if (wasEmpty)
            {
                Monitor.PulseAll(_sync);
            }
            if (durable)
            {
                // Written now, not after the gather: a thread that logs errors one after another (a thousand refused
                // messages) would otherwise wait the whole gather for each.
                _urgent = true;
                Monitor.PulseAll(_sync);
                long mine = _appended;
                while (Volatile.Read(ref _written) < mine && !_stopped)
                {
                    Monitor.Wait(_sync);
                }
            }
        }
    }

    /// <summary>Writes what is queued and stops the thread (waits at most two seconds for a blocked stderr).</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_stopping)
            {
                return;
            }
            _stopping = true;
            Monitor.PulseAll(_sync);
        }
        _writer.Join(TimeSpan.FromSeconds(2));
    }

    private void WriteLoop()
    {
        while (true)
        {
            long upTo;
            lock (_sync)
            {
                while (_pending.WrittenCount == 0 && !_stopping)
                {
                    Monitor.Wait(_sync);
                }
                if (!_stopping && !_urgent)
                {
                    // Let lines gather; a durable line (or the stop) pulses and ends the wait early.
                    Monitor.Wait(_sync, GatherDelay);
                }
                _urgent = false;
            }
            lock (_sync)
            {
                if (_pending.WrittenCount == 0)
                {
                    _stopped = true;
                    Monitor.PulseAll(_sync);
                    return;
                }
                (_pending, _writing) = (_writing, _pending);
                upTo = _appended;
                // Loggers waiting for room may go on.
                Monitor.PulseAll(_sync);
            }
            Write(_writing.WrittenSpan);
            _writing.ResetWrittenCount();
            lock (_sync)
            {
                Volatile.Write(ref _written, upTo);
                Monitor.PulseAll(_sync);
            }
        }
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        try
        {
            _out.Write(bytes);
            _out.Flush();
        }
        catch (IOException)
        {
            // stderr is gone (the reader closed it): nothing left to tell.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
