using System.Globalization;
using System.Text.RegularExpressions;
using LoomSched.Config.Yaml;

namespace LoomSched.Config.Validation;

/// <summary>
/// Reads <c>at</c>, <c>start_at</c> and <c>end_at</c>: an ISO-8601 instant with its offset (<c>Z</c> or ±hh:mm), or a
/// local date-time (a date alone is its midnight) read in the entry's time zone. A local time the zone skips (a
/// daylight-saving gap) is refused; one it repeats is the first of the two.
/// </summary>
internal static partial class InstantReading
{
    /// <summary>The first and last years an instant may be in (config and CLI alike).</summary>
    internal const int FirstYear = 1970, LastYear = 9000;

    public static DateTimeOffset? Read(FieldReader fields, YamlNode node, string path, TimeZoneInfo zone)
    {
        const string Wanted = "an ISO-8601 date-time such as 2027-03-01T09:00:00Z, 2027-03-01T09:00:00+01:00, or 2027-03-01T09:00 read in the schedule's time_zone";
        string? text = fields.String(node, path, Wanted);
        if (text is null)
        {
            return null;
        }
        var diagnostics = fields.Diagnostics;
        string shown = text;
        var match = Pattern().Match(text.Trim());
        if (!match.Success)
        {
            diagnostics.Error(node, path, $"must be {Wanted}, got \"{shown}\"");
            return null;
        }
        if (!TryWallTime(match.Groups["date"].Value, match.Groups["time"].Success ? match.Groups["time"].Value : "00:00", out var local))
        {
            diagnostics.Error(node, path, $"\"{shown}\" is no date-time on the calendar (month 1–12, a day the month has, hours 00–23)");
            return null;
        }
        if (local.Year is < FirstYear or > LastYear)
        {
            diagnostics.Error(node, path, $"\"{shown}\" must be in the years {FirstYear} to {LastYear}");
            return null;
        }
        if (match.Groups["offset"].Success)
        {
            string offsetText = match.Groups["offset"].Value;
            if (OffsetOf(offsetText) is not { } offset)
            {
                diagnostics.Error(node, path, $"\"{shown}\" has the offset {offsetText}; an offset is at most ±14:00");
                return null;
            }
            return new DateTimeOffset(local, offset).ToUniversalTime();
        }
        if (zone.IsInvalidTime(local))
        {
            diagnostics.Error(node, path,
                $"\"{shown}\" does not exist in {zone.Id}: its clocks skip that time (daylight saving); write another time, or the instant with its offset");
            return null;
        }
        var zoneOffset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, zoneOffset).ToUniversalTime();
    }

    /// <summary>
    /// A date (<c>yyyy-MM-dd</c>) and a time (<c>HH:mm</c>, <c>HH:mm:ss</c> or with a fraction) as a wall time; false
    /// when it is not on the calendar.
    /// </summary>
    internal static bool TryWallTime(string date, string time, out DateTime wall)
    {
        // ISO 8601 bounds neither the fraction's digits nor forbids its comma (date -Ins writes ",123456789"):
        // read to the 100 ns a DateTime holds.
        int point = time.IndexOfAny(['.', ',']);
        if (point >= 0)
        {
            time = string.Concat(time.AsSpan(0, point), ".", time.AsSpan(point + 1, Math.Min(7, time.Length - point - 1)));
        }
        return DateTime.TryParseExact($"{date}T{(time.Length == 5 ? time + ":00" : time)}", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
            CultureInfo.InvariantCulture, DateTimeStyles.None, out wall);
    }

    /// <summary>The offset <c>Z</c> or <c>±hh:mm</c> (already of that shape) stands for; null beyond ±14:00 or past minute 59.</summary>
    internal static TimeSpan? OffsetOf(string text)
    {
        if (text is "Z" or "z")
        {
            return TimeSpan.Zero;
        }
        int hours = int.Parse(text.AsSpan(1, 2), CultureInfo.InvariantCulture);
        int minutes = int.Parse(text.AsSpan(4, 2), CultureInfo.InvariantCulture);
        if (hours > 14 || minutes > 59 || (hours == 14 && minutes > 0))
        {
            return null;
        }
        var offset = new TimeSpan(hours, minutes, 0);
        return text[0] == '-' ? -offset : offset;
    }

    // [0-9], not \d: \d takes any Unicode digit, which the parsers after it refuse.
    [GeneratedRegex(@"^(?<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?:[Tt ](?<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)(?<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
