using NATS.Client.Core;

namespace LoomSched.EndToEnd.Tests.Support;

/// <summary>One nats-server for the end-to-end tests; each test uses its own scheduler name and subject prefix.</summary>
public sealed class NatsFixture : IAsyncLifetime
{
    public NatsServer Server { get; private set; } = null!;
    public NatsConnection Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await NatsServer.StartAsync("-js");
        Client = new NatsConnection(NatsOpts.Default with { Url = Server.Url });
        await Client.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}

[CollectionDefinition("nats")]
public sealed class NatsCollection : ICollectionFixture<NatsFixture>;

/// <summary>
/// Tests that assert on timing run alone, after the parallel ones: on a loaded two-core CI machine the other
/// collections (replicas, outages, fan-outs) would otherwise starve the daemon under test.
/// </summary>
[CollectionDefinition("nats-timing", DisableParallelization = true)]
public sealed class NatsTimingCollection : ICollectionFixture<NatsFixture>;
