using System.Security.Cryptography;

namespace LoomSched.Dispatch;

/// <summary>
/// Random UUIDs (version 4, RFC 9562 variant), spelled as <see cref="Guid.ToString()"/> spells them
/// (<c>xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx</c>, lowercase). The 122 random bits come from the operating system's
/// cryptographic generator (<see cref="RandomNumberGenerator"/>), as <see cref="Guid.NewGuid"/>'s do; but that asks the
/// kernel for 16 bytes at every call, a system call per message. Here each thread draws 4 KiB at a time, enough for
/// 256 ids, and wipes each id's bytes once it is spelled.
/// </summary>
internal static class UuidV4
{
    private const int PoolBytes = 4096;

    [ThreadStatic]
    private static byte[]? t_pool;

    // Where the next id's bytes start; 0 when the pool is used up (or not drawn yet).
    [ThreadStatic]
    private static int t_next;

    /// <summary>The length of an id's spelling.</summary>
    public const int Length = 36;

    /// <summary>Spells a new random UUID, lowercase, with hyphens, as ASCII into <paramref name="into"/> (<see cref="Length"/> bytes).</summary>
    public static void Fill(Span<byte> into)
    {
        var bytes = NextRandom();
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x40); // version 4: random
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // variant 10xx: RFC 4122 / 9562
        Spell(bytes, into);
        bytes.Clear();
    }

    /// <summary>The thread's next 16 random bytes, in its pool: the caller spells them, then clears them.</summary>
    internal static Span<byte> NextRandom()
    {
        var pool = t_pool;
        int at = t_next;
        if (pool is null || at == 0)
        {
            pool = t_pool ??= new byte[PoolBytes];
            RandomNumberGenerator.Fill(pool);
            at = 0;
        }
        t_next = (at + 16) % PoolBytes;
        return pool.AsSpan(at, 16);
    }

    // The bytes in order, two hex digits each, hyphens after the 4th, 6th, 8th and 10th byte: the RFC's layout, so the
    // version is the 13th digit. Spelled by hand, a byte's two digits at a time from a table: Guid's own formatter is
    // vectorised, and NativeAOT's baseline instruction set runs its shuffles in software.
    internal static void Spell(ReadOnlySpan<byte> bytes, Span<byte> ascii)
    {
        ReadOnlySpan<byte> pairs = HexPairs;
        int c = 0;
        for (int i = 0; i < 16; i++)
        {
            if (i is 4 or 6 or 8 or 10)
            {
                ascii[c++] = (byte)'-';
            }
            int at = bytes[i] * 2;
            ascii[c] = pairs[at];
            ascii[c + 1] = pairs[at + 1];
            c += 2;
        }
    }

    // "000102...feff": the two lowercase hex digits of every byte value.
    private static readonly byte[] HexPairs = MakeHexPairs();

    private static byte[] MakeHexPairs()
    {
        ReadOnlySpan<byte> hex = "0123456789abcdef"u8;
        var pairs = new byte[512];
        for (int b = 0; b < 256; b++)
        {
            pairs[2 * b] = hex[b >> 4];
            pairs[(2 * b) + 1] = hex[b & 0xF];
        }
        return pairs;
    }
}
