using LoomSched.Expansion;

namespace LoomSched.Config;

/// <summary>Loads and validates scheduler YAML (YamlDotNet representation model, no reflection).</summary>
public static class ConfigLoader
{
    /// <summary>Reads and validates a config file. Never throws for bad input: every problem is in the result.</summary>
    /// <param name="path">The YAML file.</param>
    /// <param name="registry">When given, <c>expand_from</c> names must be registered in it.</param>
    public static ConfigLoadResult LoadFile(string path, IExpansionRegistry? registry = null) =>
        throw new NotImplementedException();

    /// <summary>Validates YAML text; <paramref name="fileName"/> is used in locations.</summary>
    public static ConfigLoadResult LoadText(string yaml, string fileName, IExpansionRegistry? registry = null) =>
        throw new NotImplementedException();
}
