namespace LoomSched.Dispatch;

/// <summary>
/// The bodies of one fire's messages, written one after another on one writer, rented for them all rather than for
/// each body. Dispose returns the writer.
/// </summary>
internal sealed class FireBodies : IDisposable
{
    private readonly FireMessages _fire;
    private readonly BodyWriterPool _pool;
    private BodyWriter? _writer;

    internal FireBodies(FireMessages fire, BodyWriterPool pool)
    {
        _fire = fire;
        _pool = pool;
        _writer = pool.Rent();
    }

    /// <summary>Builds the body of one expansion map.</summary>
    /// <exception cref="UnserializableValueException">A value has no JSON form.</exception>
    public ReadOnlyMemory<byte> Build(IEnumerable<KeyValuePair<string, object?>>? expansion) =>
        (_writer ?? throw new ObjectDisposedException(nameof(FireBodies))).Write(_fire, expansion, null);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_writer is { } writer)
        {
            _writer = null;
            _pool.Return(writer);
        }
    }
}
