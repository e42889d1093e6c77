using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoomSched.Benchmarks.Support;

/// <summary>One line of the printed table.</summary>
internal sealed record Row(string Bench, string Metric, string Value, string Target = "", string Reference = "");

/// <summary>The table printed at the end and the JSON written beside it (the same numbers, structured).</summary>
internal sealed class Report
{
    private readonly List<Row> _rows = [];

    public JsonObject Json { get; } = new();
    public JsonObject Results { get; } = new();
    public IReadOnlyList<Row> Rows => _rows;

    public void Add(Row row)
    {
        _rows.Add(row);
        // Printed as it comes, so a long run shows progress.
        Console.Error.WriteLine($"    {row.Bench,-9} {row.Metric}: {row.Value}");
    }

    public static string Ms(double ms) => ms switch
    {
        double.NaN => "n/a",
        < 10 => ms.ToString("0.00", CultureInfo.InvariantCulture),
        < 100 => ms.ToString("0.0", CultureInfo.InvariantCulture),
        _ => ms.ToString("0", CultureInfo.InvariantCulture),
    };

    public static string Num(double v, string format = "0.##") => v.ToString(format, CultureInfo.InvariantCulture);

    public static string Percentiles(Distribution d) =>
        d.Count == 0 ? "no data" : $"p50 {Ms(d.P50)} · p99 {Ms(d.P99)} · max {Ms(d.Max)} ms";

    /// <summary>Median and the spread (min–max) of a few runs.</summary>
    public static string MedianSpread(Distribution d, string unit, Func<double, string>? format = null)
    {
        format ??= Ms;
        return d.Count == 1 ? $"{format(d.P50)} {unit}" : $"{format(d.P50)} {unit} (min {format(d.Min)}, max {format(d.Max)}, n={d.Count})";
    }

    public static JsonObject ToJson(Distribution d) => new()
    {
        ["count"] = d.Count,
        ["min"] = Round(d.Min),
        ["p50"] = Round(d.P50),
        ["p90"] = Round(d.P90),
        ["p99"] = Round(d.P99),
        ["max"] = Round(d.Max),
        ["mean"] = Round(d.Mean),
    };

    public static JsonNode? Round(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 4)) : null;

    public string Table()
    {
        string[] head = ["bench", "metric", "value", "target", "reference"];
        var cells = _rows.Select(r => new[] { r.Bench, r.Metric, r.Value, r.Target, r.Reference }).ToList();
        var widths = Enumerable.Range(0, head.Length)
            .Select(i => Math.Max(head[i].Length, cells.Count == 0 ? 0 : cells.Max(c => c[i].Length))).ToArray();
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", head.Select((h, i) => h.PadRight(widths[i]))).Append(" |\n");
        text.Append("|").AppendJoin("|", widths.Select(w => new string('-', w + 2))).Append("|\n");
        foreach (var c in cells)
        {
            text.Append("| ").AppendJoin(" | ", c.Select((v, i) => v.PadRight(widths[i]))).Append(" |\n");
        }
        return text.ToString();
    }

    public void Write(string path)
    {
        Json["results"] = Results;
        Json["table"] = new JsonArray([.. _rows.Select(r => (JsonNode)new JsonObject
        {
            ["bench"] = r.Bench, ["metric"] = r.Metric, ["value"] = r.Value, ["target"] = r.Target, ["reference"] = r.Reference,
        })]);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, Json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
