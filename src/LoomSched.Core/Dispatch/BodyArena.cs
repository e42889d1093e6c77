using System.Buffers;
using System.Runtime.InteropServices;

namespace LoomSched.Dispatch;

/// <summary>
/// Where message bodies are written: one after another into shared blocks, each body handed out as a slice of its
/// block. A body handed out is never written again while it may be read. A fire of 100,000 messages so keeps a few
/// hundred blocks rather than a buffer per message (measured: the per-message objects of a big fire cost more in GC
/// than building them). One writer at a time (see <see cref="MessageBuilder"/>).
/// </summary>
/// <remarks>
/// Blocks are reused (<see cref="BodyBlock"/>): once the arena has moved past a block and every body cut from it has
/// been released (<see cref="DispatchMessage.ReleaseBody"/>: the NATS port does it when the server or the stream has
/// confirmed the message), the block goes back to a small pool for the next bodies. A body nobody releases keeps its
/// block out of the pool, and the GC takes it as before. A big fan-out so writes its bodies into the blocks the
/// bodies before them have left, instead of allocating 30-odd MB per 100,000 messages (a collection per fire).
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

/// <summary>
/// A block of <see cref="BodyArena"/>: bodies are slices of it (<see cref="MemoryManager{T}"/>, so that a body knows
/// its block). It counts its holds: one for the arena while it writes into the block, one per body handed out. When
/// the last hold goes, a pooled block goes back to the pool.
/// </summary>
internal sealed class BodyBlock : MemoryManager<byte>
{
    /// <summary>Blocks kept for reuse: 8 MiB, about 26,000 bodies of a typical fan-out (those in flight, within
    /// <c>max_pending</c>, and the few chunks built ahead).</summary>
    public const int PoolSize = 256;

    private static readonly Lock PoolGate = new();
    private static readonly BodyBlock[] Pool = new BodyBlock[PoolSize];
    private static int s_pooled;

    private readonly byte[] _bytes;
    private readonly bool _pooled;
    private int _holds = 1; // the arena's

    public BodyBlock(byte[] bytes, bool pooled)
    {
        _bytes = bytes;
        _pooled = pooled;
    }

    /// <summary>The block's bytes.</summary>
    public byte[] Bytes => _bytes;

    /// <summary>Blocks waiting in the pool (for tests).</summary>
    internal static int Pooled => Volatile.Read(ref s_pooled);

    /// <summary>Holds on the block (for tests).</summary>
    internal int Holds => Volatile.Read(ref _holds);

    /// <summary>A block of <see cref="BodyArena.ChunkBytes"/>, from the pool or new; the arena holds it.</summary>
    public static BodyBlock Rent()
    {
        lock (PoolGate)
        {
            if (s_pooled > 0)
            {
                var block = Pool[--s_pooled];
                Pool[s_pooled] = null!;
                block._holds = 1;
                return block;
            }
        }
        return new BodyBlock(GC.AllocateUninitializedArray<byte>(BodyArena.ChunkBytes), pooled: true);
    }

    /// <summary>The body at <paramref name="start"/>: a slice of the block, which it holds until released.</summary>
    public ReadOnlyMemory<byte> HandOut(int start, int length)
    {
        Interlocked.Increment(ref _holds);
        return CreateMemory(start, length);
    }

    /// <summary>Lets go of one hold; the last one returns a pooled block to the pool.</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _holds);
        if (left != 0 || !_pooled)
        {
            return;
        }
        lock (PoolGate)
        {
            if (s_pooled < PoolSize)
            {
                Pool[s_pooled++] = this;
            }
        }
    }

    /// <summary>Releases the hold of <paramref name="body"/> on its block, if it was cut from one.</summary>
    public static void Release(ReadOnlyMemory<byte> body)
    {
        if (MemoryMarshal.TryGetMemoryManager<byte, BodyBlock>(body, out var block))
        {
            block.Release();
        }
    }

    /// <inheritdoc />
    public override Span<byte> GetSpan() => _bytes;

    /// <inheritdoc />
    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_bytes.Length, nameof(elementIndex));
        var handle = GCHandle.Alloc(_bytes, GCHandleType.Pinned);
        return new MemoryHandle((byte*)handle.AddrOfPinnedObject() + elementIndex, handle, this);
    }

    /// <inheritdoc />
    public override void Unpin()
    {
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
    }
}
