namespace LoomSched.Config;

/// <summary>One problem (or note) found in a config file.</summary>
/// <param name="Location">file:line:column of the offending node.</param>
/// <param name="Path">Key path, e.g. <c>schedules[3].task.worker_type</c> (empty for the document).</param>
/// <param name="Message">What is wrong and what is wanted, as a sentence.</param>
public sealed record ConfigDiagnostic(SourceLocation Location, string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() =>
        Path.Length == 0 ? $"{Location}: {Message}" : $"{Location}: {Path}: {Message}";

    /// <summary>As compilers print it, with its severity: <c>x.yaml:7:18: error: schedules[0].cron: …</c>.</summary>
    public string Format(string severity) =>
        Path.Length == 0 ? $"{Location}: {severity}: {Message}" : $"{Location}: {severity}: {Path}: {Message}";
}

/// <summary>The outcome of loading a config: the config when valid, and every error found.</summary>
public sealed class ConfigLoadResult
{
    /// <summary>The config; null when there are errors.</summary>
    public SchedulerConfig? Config { get; init; }

    /// <summary>Every error found, in file order.</summary>
    public IReadOnlyList<ConfigDiagnostic> Errors { get; init; } = [];

    /// <summary>Notes that are not errors (e.g. six-field cron: the first field is the second).</summary>
    public IReadOnlyList<ConfigDiagnostic> Notes { get; init; } = [];

    /// <summary>True when the config is valid.</summary>
    public bool Success => Config is not null && Errors.Count == 0;

    /// <summary>
    /// The result under <c>--strict</c> (for CI): every note is an error, so a config that loads only by loomsched's
    /// leniency towards Loom's (unknown keys ignored, ...) is refused.
    /// </summary>
    public ConfigLoadResult Strict() => Notes.Count == 0 ? this : new ConfigLoadResult
    {
        Errors = [.. Errors.Concat(Notes.Select(n => n with { Message = n.Message + " (a note; an error under --strict)" }))
            .OrderBy(d => d.Location.Line).ThenBy(d => d.Location.Column)],
    };
}
