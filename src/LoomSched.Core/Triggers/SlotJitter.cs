using System.Text;

namespace LoomSched.Triggers;

/// <summary>
/// <c>jitter_seconds</c>: each slot fires at slot + a delay in [0, <see cref="Max"/>), the same for every replica and
/// every run, because it is a hash of the scheduler's name, the schedule's name and the slot (FNV-1a, its bits mixed by
/// SplitMix64's finaliser), never a random draw. The slot stays the slot: <c>Nats-Msg-Id</c> and <c>scheduled_for</c>
/// are the slot's; only the moment the fire starts moves.
/// </summary>
public sealed class SlotJitter
{
    private const ulong FnvOffset = 14695981039346656037;
    private const ulong FnvPrime = 1099511628211;

    private readonly ulong _seed;

    /// <summary>Creates the jitter of schedule <paramref name="schedule"/> of scheduler <paramref name="scheduler"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="max"/> is not positive.</exception>
    public SlotJitter(string scheduler, string schedule, TimeSpan max)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(max, TimeSpan.Zero);
        Max = max;
        ulong hash = FnvOffset;
        hash = Add(hash, Encoding.UTF8.GetBytes(scheduler));
        hash = Add(hash, [0]); // a separator: ("ab", "c") and ("a", "bc") differ
        hash = Add(hash, Encoding.UTF8.GetBytes(schedule));
        _seed = hash;
    }

    /// <summary>The delays are below this.</summary>
    public TimeSpan Max { get; }

    /// <summary>
    /// The delay of <paramref name="slot"/>: whole milliseconds in [0, <see cref="Max"/>) (the loop's timers count whole
    /// milliseconds, and a fire time on one reads as it is meant).
    /// </summary>
    public TimeSpan DelayOf(DateTimeOffset slot)
    {
        Span<byte> ticks = stackalloc byte[sizeof(long)];
        BitConverter.TryWriteBytes(ticks, slot.UtcTicks);
        if (!BitConverter.IsLittleEndian)
        {
            ticks.Reverse();
        }
        ulong hash = Mix(Add(_seed, ticks));
        // Scaled into the milliseconds below Max by a 128-bit product: no modulo bias, the whole range used.
        ulong steps = (ulong)((Max.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond);
        ulong delay = (ulong)(((UInt128)hash * steps) >> 64);
        return TimeSpan.FromMilliseconds(delay);
    }

    /// <summary>When <paramref name="slot"/> fires: the slot plus its delay (the slot itself beyond the calendar's end).</summary>
    public DateTimeOffset FireTimeOf(DateTimeOffset slot)
    {
        var delay = DelayOf(slot);
        return DateTimeOffset.MaxValue - slot < delay ? slot : slot + delay;
    }

    private static ulong Add(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            hash = (hash ^ b) * FnvPrime;
        }
        return hash;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
