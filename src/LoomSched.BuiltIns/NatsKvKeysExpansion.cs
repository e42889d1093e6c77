using System.Text.Json;
using LoomSched.Expansion;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace LoomSched.BuiltIns;

/// <summary>
/// <c>nats_kv_keys</c>: one dispatch per key of the NATS KV bucket <c>expand_args.bucket</c>, as <c>{key: k}</c> plus the
/// fields of the key's value when that value is a JSON object (<c>key</c> itself always names the key). Keys are
/// dispatched in ordinal order; a key deleted while the bucket is read is skipped, and a key that cannot be read fails
/// the fire (rather than leave its map out).
/// </summary>
internal static class NatsKvKeysExpansion
{
    public const string Name = "nats_kv_keys";

    // JetStream's error code for "stream not found": a KV bucket is the stream KV_<bucket>.
    private const int StreamNotFound = 10059;

    [ExpansionFunction(Name)]
    internal static async ValueTask<List<OrderedDictionary<string, object?>>> Expand(
        CancellationToken cancellationToken, ExpansionContext context)
    {
        var bucket = ExpansionArgs.Require(Bucket(context.Args, out var error), error, Name);
        var connection = context.GetService<INatsConnection>()
            ?? throw new ExpansionException(
                $"{Name}: no NATS connection is available to expansion functions (the host offers no INatsConnection in ExpansionContext.Services)");

        var kv = new NatsKVContext(new NatsJSContext(connection));
        INatsKVStore store;
        try
        {
            store = await kv.GetStoreAsync(bucket, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.ErrCode == StreamNotFound)
        {
            throw new ExpansionException($"{Name}: there is no KV bucket named '{bucket}'", e);
        }
        catch (NatsException e)
        {
            throw new ExpansionException($"{Name}: cannot open the KV bucket '{bucket}': {Reason(e)}", e);
        }

        var keys = new List<string>();
        try
        {
            await foreach (var key in store.GetKeysAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                keys.Add(key);
            }
        }
        catch (NatsException e)
        {
            throw new ExpansionException($"{Name}: cannot list the keys of the KV bucket '{bucket}': {Reason(e)}", e);
        }
        keys.Sort(StringComparer.Ordinal);

        var maps = new List<OrderedDictionary<string, object?>>(keys.Count);
        foreach (var key in keys)
        {
            NatsResult<NatsKVEntry<byte[]>> entry;
            try
            {
                entry = await store.TryGetEntryAsync<byte[]>(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (NatsException e)
            {
                entry = e; // no reply to the read is thrown, not returned
            }
            if (!entry.Success)
            {
                if (entry.Error is NatsKVKeyNotFoundException or NatsKVKeyDeletedException)
                {
                    continue; // deleted since the keys were listed
                }
                // Not an absence (no reply while the stream elects a leader, or a user denied reads): a map would
                // silently be missing.
                throw new ExpansionException($"{Name}: cannot read the key '{key}' of the KV bucket '{bucket}': {Reason(entry.Error)}", entry.Error);
            }
            try
            {
                maps.Add(ToMap(key, entry.Value.Value));
            }
            catch (OverflowException e)
            {
                // Loom's json.loads refuses such a value; dispatching the key alone would silently drop its fields.
                throw new ExpansionException($"{Name}: the value of the key '{key}' of the KV bucket '{bucket}' holds {e.Message}", e);
            }
        }
        return maps;
    }

    private static string Reason(Exception e) => e switch
    {
        NatsNoReplyException =>
            "the server sent no reply within the request timeout (is the bucket's stream without a leader, or is this user denied its reads?)",
        NatsNoRespondersException => "nothing answered the JetStream request (is JetStream enabled on the server, for this account?)",
        NatsJSApiException api => $"the server refused: {api.Error.Description} (JetStream error {api.Error.ErrCode})",
        _ => e.Message,
    };

    internal static OrderedDictionary<string, object?> ToMap(string key, byte[]? value)
    {
        var map = new OrderedDictionary<string, object?>(StringComparer.Ordinal) { ["key"] = key };
        if (value is not { Length: > 0 } || !LooksLikeObject(value))
        {
            return map;
        }
        try
        {
            using var document = JsonDocument.Parse(value, JsonValues.Options);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in JsonValues.ToMap(document.RootElement))
                {
                    if (field.Key != "key")
                    {
                        map[field.Key] = field.Value;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // A value that merely starts with '{' but is not JSON is a plain value: the key alone is dispatched.
        }
        return map;
    }

    private static bool LooksLikeObject(byte[] value)
    {
        foreach (var b in value)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF)
            {
                continue;
            }
            return b == (byte)'{';
        }
        return false;
    }

    internal static IEnumerable<ExpansionArgError> ValidateArgs_Expand(IReadOnlyDictionary<string, object?> args)
    {
        Bucket(args, out var error);
        return ExpansionArgs.Problems(args, Name, ["bucket"], error);
    }

    // The names NATS accepts for a bucket: checked here, so that a typo is a validation error, not a failed fire.
    private static string? Bucket(IReadOnlyDictionary<string, object?> args, out ExpansionArgError? error)
    {
        var bucket = ExpansionArgs.String(args, "bucket", required: true, out error);
        foreach (char c in bucket ?? "")
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                error = new ExpansionArgError("bucket",
                    $"'bucket' must be a KV bucket name (letters, digits, '_' and '-'), not \"{bucket}\"");
                return null;
            }
        }
        return bucket;
    }
}
