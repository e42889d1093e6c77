using LoomSched.Expansion;

namespace LoomSched.BuiltIns.Tests.Support;

/// <summary>Runs built-ins through the BuiltIns assembly's generated registry, as the daemon does.</summary>
internal static class Expansions
{
    public static ExpansionRegistry Registry { get; } = LoomSched.Generated.ExpansionFunctionRegistry.Create();

    public static async Task<List<Dictionary<string, object?>>> Expand(
        string name, IReadOnlyDictionary<string, object?> args, IServiceProvider? services = null)
    {
        Assert.True(Registry.TryGet(name, out var function), $"{name} is not registered");
        var context = new ExpansionContext
        {
            ScheduleName = "test_schedule",
            ScheduledFor = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
            Args = args,
            Services = services,
        };
        var maps = await function.Invoke(context, CancellationToken.None);
        Assert.NotNull(maps);
        return maps.Select(map => map.ToDictionary(kv => kv.Key, kv => kv.Value)).ToList();
    }

    public static IReadOnlyList<ExpansionArgError> Validate(string name, IReadOnlyDictionary<string, object?> args)
    {
        Assert.True(Registry.TryGet(name, out var function), $"{name} is not registered");
        Assert.NotNull(function.ValidateArgs);
        return function.ValidateArgs(args).ToList();
    }

    public static Dictionary<string, object?> Args(params (string Key, object? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);
}

/// <summary>A temp folder for test files, removed afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("loomsched-builtins-").FullName;

    public string File(string name, string content)
    {
        var path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
