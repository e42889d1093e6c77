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

/// <summary>
/// A nats-server of its own with two users: <c>test</c>, who may do anything, and the daemon's <c>sched</c>, who may be
/// refused every read of a KV bucket (direct and API message gets) and allowed again by a config reload. A refused
/// read gets no answer, which is not the absence of a record.
/// </summary>
internal sealed class ReadRefusingServer : IAsyncDisposable
{
    private const string NoReads = """permissions: { publish: { deny: ["$JS.API.DIRECT.GET.>", "$JS.API.STREAM.MSG.GET.>"] } }""";
    private readonly string _config, _store;

    private ReadRefusingServer(string dir)
    {
        _config = Path.Combine(dir, "nats.conf");
        _store = Path.Combine(dir, "store");
    }

    public NatsServer Server { get; private set; } = null!;
    public NatsConnection Client { get; private set; } = null!;
    public string DaemonUrl => $"nats://sched:sched-pw@127.0.0.1:{Server.Port}";

    public static async Task<ReadRefusingServer> StartAsync()
    {
        var nats = new ReadRefusingServer(Directory.CreateTempSubdirectory("loomsched-nats-conf-").FullName);
        await nats.WriteAsync(refuseReads: false);
        nats.Server = await NatsServer.StartFromConfigAsync(nats._config, nats._store);
        nats.Client = new NatsConnection(NatsOpts.Default with
        {
            Url = nats.Server.Url,
            AuthOpts = NatsAuthOpts.Default with { Username = "test", Password = "test-pw" },
        });
        return nats;
    }

    public Task RefuseReadsAsync() => ReloadAsync(refuseReads: true);

    public Task AllowReadsAsync() => ReloadAsync(refuseReads: false);

    private async Task ReloadAsync(bool refuseReads)
    {
        await WriteAsync(refuseReads);
        Server.Reload();
        await Task.Delay(TimeSpan.FromMilliseconds(300)); // the server applies it within milliseconds
    }

    private Task WriteAsync(bool refuseReads) => File.WriteAllTextAsync(_config, $$"""
        jetstream { store_dir: "{{_store}}" }
        authorization {
          users: [
            { user: sched, password: "sched-pw", {{(refuseReads ? NoReads : "")}} }
            { user: test, password: "test-pw" }
          ]
        }
        """);

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
