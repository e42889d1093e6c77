using System.Diagnostics.CodeAnalysis;

namespace LoomSched.Config.Validation;

/// <summary>IANA zone lookup for <c>time_zone</c>, with suggestions for a misspelt id.</summary>
internal static class TimeZones
{
    /// <summary>
    /// Finds a zone by its exact IANA id. .NET matches ids ignoring case, but Loom's Python and most tools do
    /// not, so a case difference is reported (with the right spelling) rather than silently accepted.
    /// </summary>
    public static bool TryFind(string id, [NotNullWhen(true)] out TimeZoneInfo? zone)
    {
        zone = null;
        // The id becomes a path under the zoneinfo folder: refuse anything but an id's own characters.
        if (!NamePatterns.IsZoneId(id)
            || !TimeZoneInfo.TryFindSystemTimeZoneById(id, out var found)
            || !string.Equals(found.Id, id, StringComparison.Ordinal))
        {
            return false;
        }
        zone = found;
        return true;
    }

    /// <summary>"unknown time zone "X"; did you mean "Y"?" — the zone list is read only on this error path.</summary>
    public static string UnknownMessage(string id)
    {
        var ids = TimeZoneInfo.GetSystemTimeZones().Select(z => z.Id).Append("UTC").Distinct(StringComparer.Ordinal).ToArray();
        string hint = DidYouMean.Hint(id, ids);
        return hint.Length > 0
            ? $"unknown time zone \"{id}\"{hint}"
            : $"unknown time zone \"{id}\"; write an IANA zone id such as \"UTC\" or \"Europe/Berlin\"";
    }
}
