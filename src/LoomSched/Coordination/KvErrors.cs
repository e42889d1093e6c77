using NATS.Client.KeyValueStore;

namespace LoomSched.Daemon.Coordination;

/// <summary>What a failed KV read or compare-and-set write says, and what it does not.</summary>
internal static class KvErrors
{
    /// <summary>
    /// Whether the write was refused by its compare-and-set (the key is not at the revision given, or exists where a
    /// create expected none), as opposed to not taken at all: no stream leader (503), a limit of the bucket's stream,
    /// no responders. Only a refusal says that someone else wrote the key.
    /// </summary>
    public static bool IsConflict(Exception error) => error is NatsKVWrongLastRevisionException or NatsKVCreateException;

    /// <summary>
    /// Whether the read found the key absent (never written, or deleted), as opposed to not answered: no responders,
    /// a permission the server refused, a reply without the record's headers. Only an absence says there is no record.
    /// </summary>
    public static bool IsAbsent(Exception error) => error is NatsKVKeyNotFoundException or NatsKVKeyDeletedException;
}
