using System.Text.Json;

namespace LoomSched.Benchmarks.Support;

/// <summary>One <c>fired</c> line of the daemon's JSON log (event 1): the slot and how late the fire started.</summary>
internal readonly record struct FireLine(string Schedule, string Slot, int Messages, double LateMs, double TookMs);

internal static class FireLog
{
    public static List<FireLine> Read(Daemon daemon)
    {
        var fires = new List<FireLine>();
        foreach (var line in daemon.LogLines())
        {
            if (line.Length == 0 || line[0] != '{' || !line.Contains("\"event_id\":1,", StringComparison.Ordinal))
            {
                continue;
            }
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            fires.Add(new FireLine(
                root.GetProperty("schedule").GetString()!,
                root.GetProperty("slot").GetString()!,
                root.GetProperty("messages").GetInt32(),
                root.GetProperty("lateness_ms").GetDouble(),
                root.GetProperty("duration_ms").GetDouble()));
        }
        return fires;
    }
}
