namespace LoomSched.Generators.Tests.Support;

/// <summary>Finds the repository from the test binaries, which live under its artifacts folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string GeneratorTests => Path.Combine(Root, "tests", "LoomSched.Generators.Tests");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LoomSchedAot.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No LoomSchedAot.sln above {AppContext.BaseDirectory}.");
    }
}
