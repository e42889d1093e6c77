using System.Buffers;

namespace LoomSched.Dispatch;

/// <summary>
/// Where message bodies are written: one after another into shared chunks, each body handed out as a slice of its
/// chunk. A body handed out is never written again; a chunk that is full is simply left to the bodies in it, and the
/// GC frees it with the last of them. A fire of 100,000 messages so keeps a few hundred arrays alive rather than a
/// buffer per message (measured: the per-message objects of a big fire cost more in GC than building them).
/// One writer at a time (see <see cref="MessageBuilder"/>).
/// </summary>
internal sealed class BodyArena : IBufferWriter<byte>
{
    /// <summary>Below the large object heap's 85,000 bytes, so that chunks are young objects that die young.</summary>
    public const int ChunkBytes = 32 * 1024;

    private byte[] _chunk = [];
    private int _start; // where the body being written begins
    private int _end;   // how far it is written

    /// <inheritdoc />
    public void Advance(int count)
    {
        if ((uint)count > (uint)(_chunk.Length - _end))
        {
            throw new ArgumentOutOfRangeException(nameof(count), "advanced past the memory handed out");
        }
        _end += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _chunk.AsMemory(_end);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _chunk.AsSpan(_end);
    }

    /// <summary>Writes <paramref name="bytes"/> (as <c>GetSpan</c>, copy, <c>Advance</c>, without going through the interface).</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(_chunk.AsSpan(_end));
        _end += bytes.Length;
    }

    /// <summary>Ends the body being written and hands it out; the next body starts after it.</summary>
    public ReadOnlyMemory<byte> Commit()
    {
        var body = new ReadOnlyMemory<byte>(_chunk, _start, _end - _start);
        _start = _end;
        if (_chunk.Length > ChunkBytes)
        {
            // A chunk grown for one large body is left to it: small bodies after it would keep it alive.
            _chunk = [];
            _start = _end = 0;
        }
        return body;
    }

    /// <summary>Drops the body being written (its serialisation failed); the space is used by the next one.</summary>
    public void Discard() => _end = _start;

    private void Reserve(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_chunk.Length - _end >= sizeHint)
        {
            return;
        }
        // A body is one contiguous slice: what is written of it moves, whole, to a new chunk. A body larger than a
        // chunk gets a chunk of its own, grown by doubling so that a large body is copied a few times at most.
        int written = _end - _start;
        long needed = (long)written + sizeHint;
        long size = needed <= ChunkBytes ? ChunkBytes : Math.Max(needed, 2L * written);
        var next = GC.AllocateUninitializedArray<byte>(checked((int)Math.Min(size, Array.MaxLength)));
        _chunk.AsSpan(_start, written).CopyTo(next);
        _chunk = next;
        _start = 0;
        _end = written;
    }
}
