using System.Buffers;
using System.Runtime.InteropServices;

namespace LoomSched.Dispatch;

/// <summary>
/// A block of <see cref="BodyArena"/>: bodies are slices of it (<see cref="MemoryManager{T}"/>, so that a body knows
/// its block). It counts its holds: one for the arena while it writes into the block, one per body handed out. When
/// the last hold goes, a pooled block goes back to the pool.
/// </summary>
internal sealed class BodyBlock : MemoryManager<byte>
{
    /// <summary>Blocks kept for reuse (8 MiB): room for a fan-out's bodies in flight, within <c>max_pending</c>, and
    /// the few chunks built ahead of the sender.</summary>
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
