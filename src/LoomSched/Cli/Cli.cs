namespace LoomSched.Daemon;

internal static class Cli
{
    public static int Run(string[] args)
    {
        Console.Out.WriteLine("loomsched 0.1.0");
        return 0;
    }
}
