namespace LoomSched.Tests.Fuzz;

/// <summary>
/// The fuzz's seed configs, copied next to the tests: the shipped examples (config/, valid) and the corpus of broken
/// ones (tests/configs/, each file up to 16 KiB so that a case stays quick). Half the cases start from an example, so
/// that configs which still load (and list their slots) are as well tried as broken ones.
/// </summary>
public sealed class Seeds
{
    private const long MaxSeedBytes = 16 * 1024;

    private readonly List<string> _examples;
    private readonly List<string> _broken;

    public Seeds()
    {
        _examples = Read("config");
        _broken = Read("configs");
    }

    public int Count => _examples.Count + _broken.Count;

    /// <summary>A seed, chosen with the mutator's random numbers.</summary>
    public string Pick(Mutator mutator) =>
        mutator.Next(2) == 0 ? _examples[mutator.Next(_examples.Count)] : _broken[mutator.Next(_broken.Count)];

    private static List<string> Read(string folder) =>
    [
        .. Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, folder), "*.yaml", SearchOption.AllDirectories)
            .Where(file => new FileInfo(file).Length <= MaxSeedBytes)
            .Order(StringComparer.Ordinal)
            .Select(File.ReadAllText),
    ];
}
