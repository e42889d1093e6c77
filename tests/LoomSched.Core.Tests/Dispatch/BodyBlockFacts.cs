using System.Runtime.InteropServices;
using LoomSched.Dispatch;

namespace LoomSched.Tests.Dispatch;

/// <summary>No other test runs beside these: they count the blocks in the pool, which every body writer shares.</summary>
[CollectionDefinition("body blocks", DisableParallelization = true)]
public sealed class BodyBlocksCollection;

/// <summary>
/// The memory of message bodies is reused, but only once nothing can read a body again: the arena has moved past its
/// block, and every body cut from the block has been released (by the port, once NATS confirmed the message).
/// </summary>
[Collection("body blocks")]
public sealed class BodyBlockFacts
{
    [Fact]
    public void A_block_goes_back_to_the_pool_only_when_the_arena_has_moved_on_and_every_body_of_it_is_released()
    {
        var arena = new BodyArena();
        var first = Body(arena, 0, 1000);
        var block = BlockOf(first);
        var bodies = new List<ReadOnlyMemory<byte>> { first };
        while (BlockOf(bodies[^1]) == block)
        {
            bodies.Add(Body(arena, (byte)bodies.Count, 1000));
        }
        var ofBlock = bodies[..^1]; // the last one went into the next block
        Assert.Equal(ofBlock.Count, block.Holds); // the arena has let go of it

        int pooled = BodyBlock.Pooled;
        foreach (var body in ofBlock.Skip(1))
        {
            BodyBlock.Release(body);
        }
        Assert.Equal(1, block.Holds);
        Assert.Equal(pooled, BodyBlock.Pooled);
        Assert.All(ofBlock.Select((b, i) => (b, i)), x => Assert.All(x.b.ToArray(), v => Assert.Equal((byte)x.i, v)));

        BodyBlock.Release(first);

        Assert.Equal(0, block.Holds);
        Assert.Equal(Math.Min(pooled + 1, BodyBlock.PoolSize), BodyBlock.Pooled);
    }

    [Fact]
    public void The_block_the_arena_writes_into_stays_out_of_the_pool_however_many_of_its_bodies_are_released()
    {
        var arena = new BodyArena();
        var body = Body(arena, 7, 100);
        var block = BlockOf(body);
        int pooled = BodyBlock.Pooled;

        BodyBlock.Release(body);

        Assert.Equal(1, block.Holds);
        Assert.Equal(pooled, BodyBlock.Pooled);
        var next = Body(arena, 8, 100);
        Assert.Same(block, BlockOf(next)); // still written into
    }

    [Fact]
    public void A_message_released_twice_lets_go_of_its_body_once()
    {
        var arena = new BodyArena();
        var one = Body(arena, 1, 100);
        var two = Body(arena, 2, 100);
        var block = BlockOf(one);
        var message = new DispatchMessage("s", one, "sched", "slot", "id");

        message.ReleaseBody();
        message.ReleaseBody();

        Assert.Equal(2, block.Holds); // the arena's and the other body's
        Assert.All(two.ToArray(), v => Assert.Equal(2, v));
    }

    [Fact]
    public void A_body_larger_than_a_block_gets_a_block_of_its_own_that_is_never_pooled()
    {
        var arena = new BodyArena();
        var big = Body(arena, 9, 3 * BodyArena.ChunkBytes);
        var block = BlockOf(big);
        int pooled = BodyBlock.Pooled;

        BodyBlock.Release(big);

        Assert.Equal(0, block.Holds);
        Assert.Equal(pooled, BodyBlock.Pooled);
    }

    [Fact]
    public void A_released_block_carries_later_bodies_and_a_body_still_held_is_never_written_over()
    {
        var arena = new BodyArena();
        var kept = Body(arena, 5, 20_000);
        var keptBlock = BlockOf(kept);
        var freed = new List<ReadOnlyMemory<byte>>();
        for (int i = 0; i < 4 * 32; i++)
        {
            freed.Add(Body(arena, 6, 20_000)); // one body per block: each block left behind at once
        }
        foreach (var body in freed.SkipLast(1))
        {
            BodyBlock.Release(body);
        }
        for (int i = 0; i < 4 * 32; i++)
        {
            Body(arena, 7, 20_000);
        }

        Assert.All(kept.ToArray(), v => Assert.Equal(5, v));
        Assert.Equal(1, keptBlock.Holds);
        var last = freed[^1];
        Assert.All(last.ToArray(), v => Assert.Equal(6, v));
    }

    private static ReadOnlyMemory<byte> Body(BodyArena arena, byte value, int length)
    {
        arena.GetSpan(length)[..length].Fill(value);
        arena.Advance(length);
        return arena.Commit();
    }

    private static BodyBlock BlockOf(ReadOnlyMemory<byte> body) =>
        MemoryMarshal.TryGetMemoryManager<byte, BodyBlock>(body, out var block) ? block : throw new InvalidOperationException("not a block's body");
}
