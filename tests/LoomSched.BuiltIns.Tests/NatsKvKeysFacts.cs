using System.Text;
using LoomSched.BuiltIns.Tests.Support;
using LoomSched.Expansion;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using static LoomSched.BuiltIns.Tests.Support.Expansions;

namespace LoomSched.BuiltIns.Tests;

/// <summary>nats_kv_keys against a real nats-server with JetStream: one map per key, plus the fields of JSON-object values.</summary>
public sealed class NatsKvKeysFacts(NatsServerFixture server) : IClassFixture<NatsServerFixture>, IAsyncLifetime
{
    private NatsConnection _nats = null!;

    public async Task InitializeAsync()
    {
        _nats = new NatsConnection(new NatsOpts { Url = server.Url });
        await _nats.ConnectAsync();
    }

    public async Task DisposeAsync() => await _nats.DisposeAsync();

    [Fact]
    public async Task Each_key_becomes_a_map_with_the_fields_of_a_json_object_value()
    {
        var store = await CreateBucket("sessions");
        await store.PutAsync("s2", Encoding.UTF8.GetBytes("""{"user": "ann", "n": 2, "key": "ignored", "nested": {"a": true}}"""));
        await store.PutAsync("s1", Encoding.UTF8.GetBytes("plain value"));
        await store.PutAsync("s3", Encoding.UTF8.GetBytes("[1, 2]"));

        var maps = await Expand("nats_kv_keys", Args(("bucket", "sessions")), new Services(_nats));

        Assert.Equal(3, maps.Count);
        Assert.Equal(new Dictionary<string, object?> { ["key"] = "s1" }, maps[0]);
        Assert.Equal(["key", "user", "n", "nested"], maps[1].Keys.ToArray());
        Assert.Equal("s2", maps[1]["key"]);
        Assert.Equal("ann", maps[1]["user"]);
        Assert.Equal(2L, maps[1]["n"]);
        Assert.Equal(true, Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(maps[1]["nested"])["a"]);
        Assert.Equal(new Dictionary<string, object?> { ["key"] = "s3" }, maps[2]);
    }

    [Fact]
    public void A_whole_number_beyond_64_bits_in_a_value_is_read_exactly_as_Python_reads_it()
    {
        var map = NatsKvKeysExpansion.ToMap("k", Encoding.UTF8.GetBytes("""{"u": 18446744073709551616, "id": -123456789012345678901234567890}"""));

        Assert.Equal((System.Numerics.BigInteger)ulong.MaxValue + 1, map["u"]);
        Assert.Equal(System.Numerics.BigInteger.Parse("-123456789012345678901234567890"), map["id"]);
    }

    [Fact]
    public async Task A_value_with_a_whole_number_of_more_digits_than_Python_reads_fails_the_fire_naming_its_key()
    {
        var store = await CreateBucket("huge_numbers");
        await store.PutAsync("k", Encoding.UTF8.GetBytes($$"""{"n": {{new string('9', 4301)}}}"""));

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("nats_kv_keys", Args(("bucket", "huge_numbers")), new Services(_nats)));

        Assert.Equal("nats_kv_keys: the value of the key 'k' of the KV bucket 'huge_numbers' holds an integer of more than 4,300 digits, which Python (Loom) refuses to read or write as text", error.Message);
    }

    [Fact]
    public async Task A_deleted_key_is_not_dispatched()
    {
        var store = await CreateBucket("with_deletes");
        await store.PutAsync("kept", Encoding.UTF8.GetBytes("1"));
        await store.PutAsync("gone", Encoding.UTF8.GetBytes("2"));
        await store.DeleteAsync("gone");

        var maps = await Expand("nats_kv_keys", Args(("bucket", "with_deletes")), new Services(_nats));

        Assert.Equal(["kept"], maps.Select(m => m["key"]).ToArray());
    }

    [Fact]
    public async Task An_empty_bucket_gives_no_maps()
    {
        await CreateBucket("empty_bucket");

        Assert.Empty(await Expand("nats_kv_keys", Args(("bucket", "empty_bucket")), new Services(_nats)));
    }

    [Fact]
    public async Task A_missing_bucket_fails_the_fire_saying_there_is_no_bucket_of_that_name()
    {
        var error = await Assert.ThrowsAsync<ExpansionException>(
            () => Expand("nats_kv_keys", Args(("bucket", "no_such_bucket")), new Services(_nats)));

        Assert.Equal("nats_kv_keys: there is no KV bucket named 'no_such_bucket'", error.Message);
    }

    [Fact]
    public async Task Without_a_nats_connection_the_fire_fails_saying_so()
    {
        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("nats_kv_keys", Args(("bucket", "sessions"))));

        Assert.Equal(
            "nats_kv_keys: no NATS connection is available to expansion functions (the host offers no INatsConnection in ExpansionContext.Services)",
            error.Message);
    }

    [Fact]
    public void A_missing_bucket_argument_is_a_validation_error() =>
        Assert.Equal([new("bucket", "'bucket' is required")], Validate("nats_kv_keys", Args()));

    [Theory]
    [InlineData("sessions")]
    [InlineData("Loom_sessions-2")]
    public void A_bucket_name_of_letters_digits_underscores_and_dashes_is_valid(string bucket) =>
        Assert.Empty(Validate("nats_kv_keys", Args(("bucket", bucket))));

    [Theory]
    [InlineData("loom.sessions")]
    [InlineData("my bucket")]
    [InlineData("sessions*")]
    public void A_bucket_name_nats_would_refuse_is_a_validation_error(string bucket) =>
        Assert.Equal(
            [new("bucket", $"'bucket' must be a KV bucket name (letters, digits, '_' and '-'), not \"{bucket}\"")],
            Validate("nats_kv_keys", Args(("bucket", bucket))));

    private async Task<INatsKVStore> CreateBucket(string name) =>
        await new NatsKVContext(new NatsJSContext(_nats)).CreateStoreAsync(name);

    private sealed class Services(INatsConnection connection) : IServiceProvider
    {
        public object? GetService(Type serviceType) => serviceType == typeof(INatsConnection) ? connection : null;
    }
}
