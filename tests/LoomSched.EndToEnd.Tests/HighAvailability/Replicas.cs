using LoomSched.EndToEnd.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit.Abstractions;

namespace LoomSched.EndToEnd.Tests.HighAvailability;

/// <summary>Replicas of the published binary on one config; disposing them kills what still runs (frozen ones too).</summary>
internal sealed class Replicas(string config, string natsUrl) : IAsyncDisposable
{
    private readonly List<Loomsched> _all = [];

    public IReadOnlyList<Loomsched> All => _all;

    public static Replicas Start(string config, string natsUrl, int count)
    {
        var replicas = new Replicas(config, natsUrl);
        for (int i = 0; i < count; i++)
        {
            replicas.Spawn();
        }
        return replicas;
    }

    /// <summary>Starts one more replica.</summary>
    public Loomsched Spawn()
    {
        var r = Loomsched.Run(config, natsUrl);
        _all.Add(r);
        return r;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var r in _all)
        {
            if (!r.HasExited)
            {
                r.Signal(Signals.SIGCONT);
            }
            await r.DisposeAsync();
        }
    }

    /// <summary>The replica that last logged taking the lease and has not logged losing it since, or null.</summary>
    public static Loomsched? LeaderOf(IEnumerable<Loomsched> replicas) =>
        replicas.Where(r => !r.HasExited)
            .Select(r => (r, at: r.Stderr.LastOrDefault(l => l.Contains(" leader: ", StringComparison.Ordinal) || l.Contains("follower: ", StringComparison.Ordinal))))
            .Where(x => x.at is not null && x.at.Contains(" leader: ", StringComparison.Ordinal))
            .OrderByDescending(x => x.at, StringComparer.Ordinal)
            .Select(x => x.r)
            .FirstOrDefault();

    /// <summary>Waits for a leader other than <paramref name="not"/>; fails the test with every replica's log when none comes.</summary>
    public static async Task<Loomsched> WaitForLeaderAsync(IReadOnlyList<Loomsched> replicas, Loomsched? not, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (LeaderOf(replicas) is { } leader && leader != not)
            {
                return leader;
            }
            await Task.Delay(50);
        }
        Assert.Fail("no replica became leader in time:\n" + string.Join("\n---\n", replicas.Select(r => r.Log)));
        return null!;
    }

    /// <summary>Writes what <paramref name="r"/> logged, but its <c>fired</c> lines, to the test's output.</summary>
    public static void Print(ITestOutputHelper output, string label, Loomsched r)
    {
        foreach (var line in r.Stderr.Where(l => !l.Contains(" info fired ", StringComparison.Ordinal)))
        {
            output.WriteLine($"{label}: {line}");
        }
    }
}

/// <summary>
/// A JetStream stream (a KV bucket's, say) that refuses every write until disposed: its max_msg_size is set below
/// the size of any record. The server answers each write with an error, not a compare-and-set refused.
/// </summary>
internal sealed class RefusedWrites(NatsJSContext js, StreamConfig open) : IAsyncDisposable
{
    public static async Task<RefusedWrites> StartAsync(NatsJSContext js, string stream, int maxMsgSize)
    {
        var open = (await js.GetStreamAsync(stream)).Info.Config;
        await js.UpdateStreamAsync(open with { MaxMsgSize = maxMsgSize });
        return new RefusedWrites(js, open);
    }

    public async ValueTask DisposeAsync() => await js.UpdateStreamAsync(open);
}
