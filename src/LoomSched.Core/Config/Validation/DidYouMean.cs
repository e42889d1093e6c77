namespace LoomSched.Config.Validation;

/// <summary>Suggests the nearest allowed word for a misspelt one.</summary>
internal static class DidYouMean
{
    /// <summary>
    /// The candidate nearest to <paramref name="word"/> by Damerau–Levenshtein distance (optimal string alignment,
    /// ignoring case), or null when none is close: within 2 edits (1 for words under 5 letters) or a third of the
    /// word's length, whichever is more. A case-only difference is always close.
    /// </summary>
    public static string? Nearest(string word, IEnumerable<string> candidates)
    {
        int limit = Math.Max(word.Length < 5 ? 1 : 2, word.Length / 3);
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in candidates)
        {
            if (candidate == word || Math.Abs(candidate.Length - word.Length) > limit)
            {
                continue;
            }
            int distance = Distance(word, candidate, limit);
            if (distance <= limit && distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    /// <summary>"; did you mean "x"?" or an empty string.</summary>
    public static string Hint(string word, IEnumerable<string> candidates) =>
        Nearest(word, candidates) is { } near ? $"; did you mean \"{near}\"?" : "";

    internal static int Distance(string a, string b, int limit = int.MaxValue)
    {
        // Three rows suffice for the transposition rule.
        int[] previous2 = new int[b.Length + 1];
        int[] previous = new int[b.Length + 1];
        int[] current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            int rowMin = current[0];
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                int value = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 2])
                    && char.ToLowerInvariant(a[i - 2]) == char.ToLowerInvariant(b[j - 1]))
                {
                    value = Math.Min(value, previous2[j - 2] + 1);
                }
                current[j] = value;
                rowMin = Math.Min(rowMin, value);
            }
            if (rowMin > limit)
            {
                return rowMin;
            }
            (previous2, previous, current) = (previous, current, previous2);
        }
        return previous[b.Length];
    }
}
