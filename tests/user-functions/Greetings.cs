// A user's expansion function, as the README's "Services for expansion functions" shows: build.sh test copies the
// daemon project, drops this file and ExpansionServices.cs into it, and publishes it as a user would
// (artifacts/user-sample); UserFunctionFacts runs that binary.
using LoomSched.Expansion;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace Acme.Greetings;

/// <summary>Bound from the environment in ExpansionServices.cs (GREETING_TEXT, GREETING_COUNT).</summary>
public sealed class GreetingOptions
{
    public string Text { get; set; } = "hello";

    public int Count { get; set; } = 1;
}

/// <summary>A service of the user's own, one for the daemon's life: it counts the fires that asked for it.</summary>
public sealed class GreetingCounter
{
    private int _calls;

    public int Next() => Interlocked.Increment(ref _calls);
}

public static partial class Greetings
{
    [ExpansionFunction("greetings")]
    public static List<Dictionary<string, object?>> Expand(ExpansionContext context)
    {
        var options = context.GetService<IOptions<GreetingOptions>>()!.Value;
        var counter = context.GetService<GreetingCounter>()!;
        var log = context.GetService<ILogger<GreetingCounter>>()!;
        var nats = context.GetService<INatsConnection>()!;
        int call = counter.Next();
        LogCall(log, call, context.ScheduleName);
        var maps = new List<Dictionary<string, object?>>();
        for (int i = 0; i < options.Count; i++)
        {
            maps.Add(new() { ["greeting"] = options.Text, ["call"] = call, ["i"] = i, ["nats"] = nats.ConnectionState.ToString() });
        }
        return maps;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "greeting call {Call} for {Schedule}")]
    private static partial void LogCall(ILogger logger, int call, string schedule);
}
