using System.Buffers;

namespace LoomSched.Dispatch;

/// <summary>
/// Where message bodies are written: one after another into shared blocks, each body handed out as a slice of its
/// block. A body handed out is never written again while it may be read. A big fire so keeps a few hundred blocks
/// rather than a buffer per message, whose collection would cost more than building it. One writer at a time
/// (<see cref="BodyWriter"/>).
/// </summary>
/// <remarks>
/// Blocks are reused (<see cref="BodyBlock"/>): once the arena has moved past a block and every body cut from it has
/// been released (<see cref="DispatchMessage.ReleaseBody"/>: the publisher does it when the server or the stream has
/// confirmed the message), the block goes back to a small pool for the next bodies. A body nobody releases keeps its
/// block out of the pool, and the GC takes it as before. A big fan-out so writes its bodies into the blocks the
/// bodies before them have left, instead of new memory for each fire.
/// </remarks>
internal sealed class BodyArena : IBufferWriter<byte>
{
    /// <summary>Below the large object heap's 85,000 bytes, so that blocks are ordinary objects.</summary>
    public const int ChunkBytes = 32 * 1024;

    private BodyBlock? _block;
    private byte[] _chunk = []; // _block's bytes
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

    /// <summary>Writes <paramref name="ascii"/> in quotes: text the JSON writer would write as it is (<see cref="EncodedMap.IsPlainText"/>).</summary>
    public void AppendQuotedAscii(string ascii)
    {
        var span = GetSpan(ascii.Length + 2);
        span[0] = (byte)'"';
        for (int i = 0; i < ascii.Length; i++)
        {
            span[i + 1] = (byte)ascii[i];
        }
        span[ascii.Length + 1] = (byte)'"';
        _end += ascii.Length + 2;
    }

    /// <summary>Ends the body being written and hands it out; the next body starts after it.</summary>
    public ReadOnlyMemory<byte> Commit()
    {
        var block = _block ?? Reserve();
        var body = block.HandOut(_start, _end - _start);
        _start = _end;
        if (_chunk.Length > ChunkBytes)
        {
            // A block grown for one large body is left to it: small bodies after it would keep it alive.
            LeaveBlock();
        }
        return body;
    }

    /// <summary>Drops the body being written (its serialisation failed); the space is used by the next one.</summary>
    public void Discard() => _end = _start;

    private BodyBlock Reserve()
    {
        Reserve(1);
        return _block!;
    }

    private void Reserve(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_chunk.Length - _end >= sizeHint)
        {
            return;
        }
        // A body is one contiguous slice: what is written of it moves, whole, to a new block. A body larger than a
        // block gets a block of its own, grown by doubling so that a large body is copied a few times at most.
        int written = _end - _start;
        long needed = (long)written + sizeHint;
        var next = needed <= ChunkBytes
            ? BodyBlock.Rent()
            : new BodyBlock(GC.AllocateUninitializedArray<byte>(checked((int)Math.Min(Math.Max(needed, 2L * written), Array.MaxLength))), pooled: false);
        _chunk.AsSpan(_start, written).CopyTo(next.Bytes);
        LeaveBlock();
        _block = next;
        _chunk = next.Bytes;
        _start = 0;
        _end = written;
    }

    private void LeaveBlock()
    {
        _block?.Release();
        _block = null;
        _chunk = [];
        _start = _end = 0;
    }
}
