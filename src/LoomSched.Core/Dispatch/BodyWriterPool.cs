using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// The body writers of one config, kept for reuse. A writer belongs to one thread while rented, so bodies are written
/// without a lock; only renting takes one.
/// </summary>
internal sealed class BodyWriterPool(WireFormat wire, string origin, TimeProvider time)
{
    // One per fire building at the same moment, which is rarely more than two.
    private const int Spares = 4;

    private readonly Lock _gate = new();
    private readonly BodyWriter?[] _spare = new BodyWriter?[Spares];
    private int _count;

    /// <summary>A writer for this thread's use until <see cref="Return"/>.</summary>
    public BodyWriter Rent()
    {
        lock (_gate)
        {
            if (_count > 0)
            {
                var writer = _spare[--_count]!;
                _spare[_count] = null;
                return writer;
            }
        }
        return new BodyWriter(wire, origin, time);
    }

    /// <summary>Takes back a writer from <see cref="Rent"/>.</summary>
    public void Return(BodyWriter writer)
    {
        lock (_gate)
        {
            if (_count < Spares)
            {
                _spare[_count++] = writer;
            }
        }
    }
}
