using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>
/// A nats-server of its own with two users: <c>test</c>, who may do anything, and the daemon's <c>sched</c>, who may be
/// refused every read of a KV bucket (direct and API message gets) and allowed again by a config reload. A refused
/// read gets no answer, which is not the absence of a record. A third user, <c>op</c>, may neither publish on
/// <c>loom.scheduler.&gt;</c> nor subscribe to <c>loom.&gt;</c> (an operator the server refuses control and watching).
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
    public string OperatorUrl => $"nats://op:op-pw@127.0.0.1:{Server.Port}";

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
            { user: op, password: "op-pw", permissions: { publish: { deny: ["loom.scheduler.>"] }, subscribe: { deny: ["loom.>"] } } }
          ]
        }
        """);

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
