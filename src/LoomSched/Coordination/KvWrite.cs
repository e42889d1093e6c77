using NATS.Client.KeyValueStore;

namespace LoomSched.Daemon.Coordination;

/// <summary>How a failed compare-and-set write of a KV bucket failed.</summary>
internal static class KvWrite
{
    /// <summary>
    /// Whether the write was refused by its compare-and-set (the key is not at the revision given, or exists where a
    /// create expected none), as opposed to not taken at all: no stream leader (503), a limit of the bucket's stream,
    /// no responders. Only a refusal says that someone else wrote the key.
    /// </summary>
    public static bool IsConflict(Exception error) => error is NatsKVWrongLastRevisionException or NatsKVCreateException;
}
