using System.Text;

namespace LoomSched.Dispatch;

/// <summary>
/// Loom's timestamp spelling: UTC ISO 8601 with a 6-digit fraction, the fraction left out when it is
/// zero (<c>2026-11-27T02:29:25.123456Z</c>, <c>2026-11-27T03:00:00Z</c>). Sub-microsecond ticks are dropped,
/// as Python's datetime has none.
/// </summary>
public static class LoomTime
{
    /// <summary>The longest spelling, in bytes or characters: <c>2026-11-27T02:29:25.123456Z</c>.</summary>
    public const int MaxLength = 27;

    /// <summary>Formats an instant the Loom way.</summary>
    public static string Format(DateTimeOffset instant)
    {
        Span<byte> utf8 = stackalloc byte[MaxLength];
        int length = FormatUtf8(instant, utf8);
        return Encoding.ASCII.GetString(utf8[..length]);
    }

    /// <summary>
    /// Writes the Loom spelling of an instant as UTF-8 (ASCII) into <paramref name="destination"/>, which must hold
    /// <see cref="MaxLength"/> bytes; returns the bytes written. Every message carries two of these: written by hand,
    /// without the general date formatter or a string.
    /// </summary>
    public static int FormatUtf8(DateTimeOffset instant, Span<byte> destination)
    {
        var utc = instant.UtcDateTime;
        utc.Deconstruct(out int year, out int month, out int day);
        var d = destination[..SecondsLength];
        Digits(d[0..4], year);
        d[4] = (byte)'-';
        Digits(d[5..7], month);
        d[7] = (byte)'-';
        Digits(d[8..10], day);
        d[10] = (byte)'T';
        Digits(d[11..13], utc.Hour);
        d[13] = (byte)':';
        Digits(d[14..16], utc.Minute);
        d[16] = (byte)':';
        Digits(d[17..19], utc.Second);
        return Fraction(utc.Ticks, destination);
    }

    // The length of the spelling up to the seconds: 2026-11-27T02:29:25
    private const int SecondsLength = 19;

    // After the seconds: the fraction (when there is one) and the Z; returns the whole length.
    private static int Fraction(long ticks, Span<byte> destination)
    {
        long micros = (ticks % TimeSpan.TicksPerSecond) / 10;
        if (micros == 0)
        {
            destination[SecondsLength] = (byte)'Z';
            return SecondsLength + 1;
        }
        destination[SecondsLength] = (byte)'.';
        Digits(destination[(SecondsLength + 1)..(SecondsLength + 7)], (int)micros);
        destination[MaxLength - 1] = (byte)'Z';
        return MaxLength;
    }

    /// <summary>
    /// Spells instants that mostly fall in the same second (the <c>created_at</c> of a fire's messages, one after
    /// another): the date and time of day are spelled once per second, only the fraction for each instant.
    /// One thread at a time.
    /// </summary>
    internal sealed class Speller
    {
        private readonly byte[] _seconds = new byte[SecondsLength];
        private long _second = -1;

        /// <summary>As <see cref="LoomTime.FormatUtf8"/>.</summary>
        public int FormatUtf8(DateTimeOffset instant, Span<byte> destination)
        {
            long ticks = instant.UtcTicks;
            long second = ticks - (ticks % TimeSpan.TicksPerSecond);
            if (second != _second)
            {
                LoomTime.FormatUtf8(instant, destination);
                destination[..SecondsLength].CopyTo(_seconds);
                _second = second;
            }
            else
            {
                _seconds.CopyTo(destination);
            }
            return Fraction(ticks, destination);
        }
    }

    // Fixed width, zero-padded, right to left.
    private static void Digits(Span<byte> into, int value)
    {
        for (int i = into.Length - 1; i >= 0; i--)
        {
            into[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }
}
