namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>Paths of the repository under test.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>The published NativeAOT binary (<c>./build.sh</c> puts it in artifacts/; LOOMSCHED_BINARY overrides).</summary>
    public static string Binary
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("LOOMSCHED_BINARY") is { Length: > 0 } env
                ? env
                : Path.Combine(Root, "artifacts", "loomsched");
            Assert.True(File.Exists(path), $"the published binary is missing at {path}: run ./build.sh (or ./build.sh test) first");
            return path;
        }
    }

    /// <summary>
    /// The daemon published with the sample user functions of tests/user-functions (<c>./build.sh test</c> puts it in
    /// artifacts/user-sample/publish; LOOMSCHED_USER_SAMPLE_BINARY overrides).
    /// </summary>
    public static string UserSampleBinary
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("LOOMSCHED_USER_SAMPLE_BINARY") is { Length: > 0 } env
                ? env
                : Path.Combine(Root, "artifacts", "user-sample", "publish", "loomsched");
            Assert.True(File.Exists(path), $"the user-functions sample binary is missing at {path}: run ./build.sh test first");
            return path;
        }
    }

    public static string Config(string name) => Path.Combine(Root, "config", name);

    public static string TestConfig(string relative) => Path.Combine(Root, "tests", "configs", relative);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LoomSchedAot.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("cannot find the repository root (LoomSchedAot.sln) above " + AppContext.BaseDirectory);
    }
}
