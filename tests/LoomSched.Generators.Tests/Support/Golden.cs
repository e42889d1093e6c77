namespace LoomSched.Generators.Tests.Support;

/// <summary>Compares text with a golden file under <c>Golden/</c>; <c>LOOMSCHED_UPDATE_GOLDEN=1</c> rewrites the file instead.</summary>
internal static class Golden
{
    public static void AssertMatches(string name, string actual)
    {
        var path = Path.Combine(RepoPaths.GeneratorTests, "Golden", name + ".cs.txt");
        actual = actual.Replace("\r\n", "\n");
        if (Environment.GetEnvironmentVariable("LOOMSCHED_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
        }
        Assert.True(File.Exists(path), $"Golden file {path} is missing; run the tests once with LOOMSCHED_UPDATE_GOLDEN=1 and review it.");
        Assert.Equal(File.ReadAllText(path).Replace("\r\n", "\n"), actual);
    }
}
