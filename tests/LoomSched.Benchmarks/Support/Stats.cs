namespace LoomSched.Benchmarks.Support;

/// <summary>Percentiles of one sample (nearest rank) and the median and spread of a few runs.</summary>
internal sealed record Distribution(int Count, double Min, double P50, double P90, double P99, double Max, double Mean)
{
    public static Distribution Of(IEnumerable<double> values)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        if (sorted.Length == 0)
        {
            return new Distribution(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }
        return new Distribution(sorted.Length, sorted[0], Rank(sorted, 0.50), Rank(sorted, 0.90), Rank(sorted, 0.99),
            sorted[^1], sorted.Average());
    }

    private static double Rank(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
