using System.Buffers.Binary;

namespace LoomSched.Dispatch;

/// <summary>
/// Time-ordered UUIDs (version 7, RFC 9562): the Unix time in milliseconds, big-endian, in the first 48 bits, then
/// 74 random bits around the version and variant; spelled lowercase with hyphens, as heddle's <c>uuid7()</c> is.
/// The random bits come from <see cref="UuidV4"/>'s per-thread pool.
/// </summary>
internal static class UuidV7
{
    /// <summary>The length of an id's spelling.</summary>
    public const int Length = UuidV4.Length;

    /// <summary>Spells a new UUID v7 of <paramref name="at"/> as ASCII into <paramref name="into"/> (<see cref="Length"/> bytes).</summary>
    public static void Fill(Span<byte> into, DateTimeOffset at)
    {
        var bytes = UuidV4.NextRandom();
        Span<byte> time = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(time, Math.Max(0, at.ToUnixTimeMilliseconds()));
        time[2..].CopyTo(bytes); // the low 48 bits
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x70); // version 7: time-ordered
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // variant 10xx
        UuidV4.Spell(bytes, into);
        bytes.Clear();
    }
}
