using System.Globalization;

namespace LoomSched.Dispatch;

/// <summary>
/// Loom's timestamp spelling: UTC ISO 8601 with a 6-digit fraction, the fraction left out when it is
/// zero (<c>2026-11-27T02:29:25.123456Z</c>, <c>2026-11-27T03:00:00Z</c>). Sub-microsecond ticks are dropped,
/// as Python's datetime has none.
/// </summary>
public static class LoomTime
{
    /// <summary>Formats an instant the Loom way.</summary>
    public static string Format(DateTimeOffset instant)
    {
        var utc = instant.UtcDateTime;
        long micros = (utc.Ticks % TimeSpan.TicksPerSecond) / 10;
        return micros == 0
            ? utc.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'", CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{utc:yyyy'-'MM'-'dd'T'HH':'mm':'ss}.{micros:D6}Z");
    }
}
