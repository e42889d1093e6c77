using System;
using System.Collections.Generic;

namespace LoomSched.Generators.Rules;

/// <summary>The shape of an expansion function name (LSCH003) and the "did you mean" suggestion (LSCH004).</summary>
internal static class NameRules
{
    public const int MaxLength = 100;

    /// <summary>Returns what is wrong with <paramref name="name"/>, or null when it is well formed.</summary>
    public static string? Problem(string? name)
    {
        if (name is null || name.Length == 0)
        {
            return "empty";
        }
        if (name.Length > MaxLength)
        {
            return $"too long ({name.Length} characters)";
        }
        if (!IsAsciiLetter(name[0]))
        {
            return $"not starting with a letter (it starts with {Describe(name[0])})";
        }
        for (var i = 1; i < name.Length; i++)
        {
            var c = name[i];
            if (!IsAsciiLetter(c) && !(c >= '0' && c <= '9') && c != '_' && c != '.' && c != '-')
            {
                return $"containing {Describe(c)} at position {i + 1}";
            }
        }
        return null;
    }

    public static bool IsValid(string? name) => Problem(name) is null;

    /// <summary>
    /// The known name closest to <paramref name="name"/> by edit distance, when it is close enough to be a likely typo
    /// (at most a third of the longer name's length, and at least 2 edits tolerated).
    /// </summary>
    public static string? Nearest(string name, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = EditDistance(name, candidate);
            // Ordinal tie-break keeps the suggestion stable whatever order the names were collected in.
            if (distance < bestDistance || (distance == bestDistance && string.CompareOrdinal(candidate, best) < 0))
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        if (best is null)
        {
            return null;
        }
        var tolerated = Math.Max(2, Math.Max(name.Length, best.Length) / 3);
        return bestDistance <= tolerated ? best : null;
    }

    /// <summary>Levenshtein distance, ignoring case (a case slip is still the nearest name).</summary>
    public static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    private static bool IsAsciiLetter(char c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

    private static string Describe(char c) => c == ' ' ? "a space" : $"'{c}'";
}
