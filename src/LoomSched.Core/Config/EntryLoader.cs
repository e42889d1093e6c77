using System.Buffers;
using System.Globalization;
using System.Text.Json;
using LoomSched.Config.Validation;
using LoomSched.Config.Yaml;
using LoomSched.Expansion;

namespace LoomSched.Config;

/// <summary>The outcome of reading one schedule entry made at run time.</summary>
public sealed class EntryLoadResult
{
    /// <summary>The schedule; null when the entry has errors.</summary>
    public ScheduleDefinition? Definition { get; init; }

    /// <summary>
    /// Every problem, as <c>key.path: message</c> (the key path inside the entry stands where a file's line does); a
    /// note of the file's reader is an error here (see <see cref="EntryLoader"/>).
    /// </summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>True when the entry is valid.</summary>
    public bool Success => Definition is not null && Errors.Count == 0;
}

/// <summary>
/// Reads one schedule entry given as JSON or YAML (YAML reads JSON), with the very reader and messages of a config
/// file's <c>schedules[i]</c>, inheriting what the file's entries inherit (prefix, zone, catch-up, cron_seconds).
/// What the file's reader only notes is an error here: Loom never reads a run-time entry, so nothing is kept for
/// its sake, and an unknown key (a typo, or a key of a newer loomsched) must not be ignored by a schedule that fires.
/// </summary>
public static class EntryLoader
{
    /// <summary>The largest entry accepted, in bytes: it travels in one control request.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>Reads and validates an entry. Never throws for bad input.</summary>
    /// <param name="text">The entry: a JSON object or a YAML map.</param>
    /// <param name="config">The running config, whose top level the entry inherits from.</param>
    /// <param name="registry">When given, <c>expand_from</c> must name a function registered in it.</param>
    /// <param name="origin">Where the entry comes from, for <see cref="ScheduleDefinition.Location"/>.</param>
    public static EntryLoadResult Load(string text, SchedulerConfig config, IExpansionRegistry? registry, string origin)
    {
        var diagnostics = new Diagnostics(origin);
        if (Parse(text, diagnostics) is not { } root)
        {
            return new EntryLoadResult { Errors = Messages(diagnostics.SortedErrors(), "") };
        }
        var defaults = new ScheduleDefaults(config.SubjectPrefix, config.TimeZone, config.CatchUp, config.CronSecondsDefault);
        var definition = new ScheduleReader(new FieldReader(diagnostics), registry, defaults).Read(root, "");
        var errors = Messages(diagnostics.SortedErrors(), "")
            .Concat(Messages(diagnostics.SortedNotes(), " (a note in a config file; an error for a schedule made at run time)"))
            .ToList();
        return new EntryLoadResult { Definition = errors.Count == 0 ? definition : null, Errors = errors };
    }

    /// <summary>
    /// The entry as JSON, for a body written in YAML (the CLI's files): scalars typed as the file's reader types them,
    /// so that the JSON reads back as the same entry; null with <paramref name="errors"/> when it cannot be read.
    /// </summary>
    public static string? ToJson(string text, out IReadOnlyList<string> errors)
    {
        var diagnostics = new Diagnostics("entry");
        object? value = Parse(text, diagnostics) is { } root ? new FreeformConverter(diagnostics).Convert(root, "") : null;
        errors = Messages(diagnostics.SortedErrors(), "");
        if (errors.Count > 0 || value is null)
        {
            return null;
        }
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, ReadableJson.OneLine))
        {
            Dispatch.JsonValueWriter.WriteYamlReadable(writer, value);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The entry's <c>name</c> when it is a string, whatever else is wrong (to say which schedule failed).</summary>
    public static string? NameOf(string text)
    {
        var diagnostics = new Diagnostics("entry");
        return Parse(text, diagnostics) is MapNode map && map.Find("name") is { Value: ScalarNode node }
            && ScalarTyping.TryResolve(node, out object? value, out _) && value is string name
            ? name
            : null;
    }

    private const string Empty = "the entry is empty; give a map with name, cron or interval_seconds, and goal or task";

    private static YamlNode? Parse(string text, Diagnostics diagnostics)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(text) > MaxBytes)
        {
            diagnostics.FileError($"the entry is over {MaxBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes; a schedule entry should be far smaller");
            return null;
        }
        if (!ConfigSource.CheckText(text, diagnostics))
        {
            return null;
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            diagnostics.FileError(Empty);
            return null;
        }
        var root = YamlTreeReader.Read(text, diagnostics, Empty);
        if (root is not null and not MapNode)
        {
            diagnostics.FileError($"an entry must be a map (name, cron or interval_seconds, and goal or task), got {FieldReader.Actual(root)}");
            return null;
        }
        return diagnostics.ErrorCount == 0 ? root : null;
    }

    private static List<string> Messages(IReadOnlyList<ConfigDiagnostic> diagnostics, string suffix) =>
        [.. diagnostics.Select(d => d.Path.Length > 0
            ? $"{d.Path}: {d.Message}{suffix}"
            : d.Location.Line > 0 ? $"line {d.Location.Line}, column {d.Location.Column}: {d.Message}{suffix}" : d.Message + suffix)];
}
