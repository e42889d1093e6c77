using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LoomSched.Expansion;

/// <summary>What an expansion function is told about the fire it expands.</summary>
public sealed class ExpansionContext
{
    /// <summary>The schedule being fired.</summary>
    public required string ScheduleName { get; init; }

    /// <summary>The nominal slot time of this fire (not "now").</summary>
    public required DateTimeOffset ScheduledFor { get; init; }

    /// <summary>The schedule's <c>expand_args</c> map (empty when absent).</summary>
    public required IReadOnlyDictionary<string, object?> Args { get; init; }

    /// <summary>
    /// The most maps the schedule takes (its <c>max_expansion</c>): an asynchronous stream is read up to one more than
    /// this, which fails the fire, rather than until it ends (an endless stream would hold its memory until the timeout).
    /// </summary>
    public int MaxMaps { get; init; } = int.MaxValue;

    /// <summary>Services offered by the host (for the daemon: the NATS connection).</summary>
    public IServiceProvider? Services { get; init; }

    /// <summary>A logger of the category <c>expansion NAME (schedule S)</c>: the daemon's log starts each of its lines so.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Returns a host service such as <c>INatsConnection</c>, or null when the host offers none.</summary>
    public T? GetService<T>() where T : class => Services?.GetService(typeof(T)) as T;
}
