namespace LoomSched.Config.Validation;

/// <summary>
/// The shapes of names the config gives to NATS and to the zone database, checked by hand (a regex would link the
/// whole regex engine into the binary): non-empty runs of ASCII name characters joined by single separators.
/// </summary>
internal static class NamePatterns
{
    /// <summary>A NATS subject token or a key-value bucket name: <c>[A-Za-z0-9_-]+</c>.</summary>
    public static bool IsToken(string s) => IsJoined(s, separator: '\0', plus: false);

    /// <summary>A subject prefix: tokens joined by dots, <c>[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*</c>.</summary>
    public static bool IsDottedTokens(string s) => IsJoined(s, separator: '.', plus: false);

    /// <summary>An IANA zone id: <c>[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*</c> (it becomes a path under zoneinfo).</summary>
    public static bool IsZoneId(string s) => IsJoined(s, separator: '/', plus: true);

    private static bool IsJoined(string s, char separator, bool plus)
    {
        int run = 0;
        foreach (char c in s)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '-' || (plus && c == '+'))
            {
                run++;
            }
            else if (c == separator && run > 0)
            {
                run = 0;
            }
            else
            {
                return false;
            }
        }
        return run > 0;
    }
}
