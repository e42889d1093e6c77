using LoomSched.Config.Validation;
using LoomSched.Config.Yaml;
using LoomSched.Expansion;

namespace LoomSched.Config;

/// <summary>
/// Loads and validates scheduler YAML (YamlDotNet's event parser, no reflection). Free-form values are typed as
/// PyYAML's <c>safe_load</c> types them (YAML 1.1), so Loom and loomsched read a file the same way. Validation
/// is complete: every error is reported, in file order, before anything runs.
/// </summary>
public static class ConfigLoader
{
    /// <summary>The largest config file accepted, in bytes (8 MiB).</summary>
    public const int MaxFileBytes = ConfigSource.MaxBytes;

    /// <summary>Deepest nesting of maps and lists accepted, aliases expanded.</summary>
    public const int MaxDepth = YamlTreeReader.MaxDepth;

    /// <summary>Most nodes a document may have as written: every key, value, list item and alias counts one.</summary>
    public const long MaxNodes = YamlTreeReader.MaxNodes;

    /// <summary>Most nodes aliases and merge keys may add by repeating what they point at (bounds "billion laughs" documents).</summary>
    public const long MaxRepeatedNodes = YamlTreeReader.MaxRepeatedNodes;

    /// <summary>Reads and validates a config file. Never throws for bad input: every problem is in the result.</summary>
    /// <param name="path">The YAML file.</param>
    /// <param name="registry">When given, <c>expand_from</c> names must be registered in it.</param>
    public static ConfigLoadResult LoadFile(string path, IExpansionRegistry? registry = null)
    {
        var diagnostics = new Diagnostics(path);
        string? text = ConfigSource.ReadFile(path, diagnostics);
        return text is null ? Result(diagnostics, null) : Load(text, diagnostics, registry);
    }

    /// <summary>Validates YAML text; <paramref name="fileName"/> is used in locations.</summary>
    public static ConfigLoadResult LoadText(string yaml, string fileName, IExpansionRegistry? registry = null)
    {
        var diagnostics = new Diagnostics(fileName);
        return ConfigSource.CheckText(yaml, diagnostics) ? Load(yaml, diagnostics, registry) : Result(diagnostics, null);
    }

    private static ConfigLoadResult Load(string text, Diagnostics diagnostics, IExpansionRegistry? registry)
    {
        var root = YamlTreeReader.Read(text, diagnostics, "the file is empty; expected a map with name and schedules");
        var config = root is null ? null : ConfigReader.Read(root, diagnostics, registry);
        return Result(diagnostics, diagnostics.ErrorCount == 0 ? config : null);
    }

    private static ConfigLoadResult Result(Diagnostics diagnostics, SchedulerConfig? config) => new()
    {
        Config = config,
        Errors = diagnostics.SortedErrors(),
        Notes = diagnostics.SortedNotes(),
    };
}
