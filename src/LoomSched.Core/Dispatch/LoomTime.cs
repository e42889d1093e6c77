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
    /// without the general date formatter or a string, it costs a few nanoseconds.
    /// </summary>
    public static int FormatUtf8(DateTimeOffset instant, Span<byte> destination)
    {
        var utc = instant.UtcDateTime;
        utc.Deconstruct(out int year, out int month, out int day);
        long micros = (utc.Ticks % TimeSpan.TicksPerSecond) / 10;
        var d = destination[..(micros == 0 ? 20 : MaxLength)];
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
        if (micros != 0)
        {
            d[19] = (byte)'.';
            Digits(d[20..26], (int)micros);
        }
        d[^1] = (byte)'Z';
        return d.Length;
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
