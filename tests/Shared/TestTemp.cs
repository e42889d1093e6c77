using System.Runtime.CompilerServices;

namespace LoomSched.Tests.Shared;

/// <summary>
/// One directory per test process in the system's temp directory, removed when the process exits. The process's
/// temp path (TMPDIR) points into it, so whatever a test, a fixture or a child process writes there goes with it;
/// the directories of runs that were killed are removed by the next run.
/// </summary>
internal static class TestTemp
{
    private const string Prefix = "loomsched-tests-";

    /// <summary>This process's directory.</summary>
    public static string Root { get; private set; } = Path.GetTempPath();

    [ModuleInitializer]
    internal static void PointTempPathIntoRoot()
    {
        string system = Path.GetTempPath();
        RemoveLeftovers(system);
        Root = Directory.CreateDirectory(Path.Combine(system, Prefix + Environment.ProcessId)).FullName;
        Environment.SetEnvironmentVariable("TMPDIR", Root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Remove(Root);
    }

    /// <summary>Removes the directories of test processes that are gone (a run stopped by a hang timeout or a kill).</summary>
    private static void RemoveLeftovers(string system)
    {
        foreach (string dir in Directory.EnumerateDirectories(system, Prefix + "*"))
        {
            if (int.TryParse(Path.GetFileName(dir).AsSpan(Prefix.Length), out int pid) && !Directory.Exists($"/proc/{pid}"))
            {
                Remove(dir);
            }
        }
    }

    private static void Remove(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A file a child still writes, or one it made unreadable: the next run removes the rest.
        }
    }
}
