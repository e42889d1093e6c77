using System.Collections;

namespace LoomSched.Dispatch;

/// <summary>
/// The bodies of one fire, in expansion order. A big fire's later bodies are built as the sender gets near them:
/// read body <c>i</c> only after <see cref="WhenBuiltAsync"/> for an end past <c>i</c>, and dispose of the list
/// when the fire ends (the helpers stop).
/// </summary>
internal sealed class CollectedBodies : IReadOnlyList<ReadOnlyMemory<byte>>, IDisposable
{
    private readonly FireBodyCollector.Chunk[] _chunks;
    private readonly int _count;
    private readonly FireMessages _fire;
    private readonly FireBodyCollector.SendProgress? _progress;
    private int _builtChunks; // chunks [0, _builtChunks) are known to be built

    internal CollectedBodies(FireBodyCollector.Chunk[] chunks, int count, FireMessages fire, FireBodyCollector.SendProgress? progress) =>
        (_chunks, _count, _fire, _progress) = (chunks, count, fire, progress);

    /// <summary>The one body of a fire with no expansion.</summary>
    public static CollectedBodies One(ReadOnlyMemory<byte> body, FireMessages fire)
    {
        var chunk = new FireBodyCollector.Chunk(0);
        chunk.Add(body);
        return new CollectedBodies([chunk], 1, fire, null);
    }

    public int Count => _count;

    public ReadOnlyMemory<byte> this[int index] => (uint)index < (uint)_count
        ? _chunks[index / FireBodyCollector.ChunkSize][index % FireBodyCollector.ChunkSize]
        : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>
    /// Completes when bodies <c>[0, end)</c> are built. A chunk no helper has started is built here, on the caller's
    /// thread, rather than waited for. One caller at a time.
    /// </summary>
    public ValueTask WhenBuiltAsync(int end)
    {
        int needed = (Math.Min(end, _count) + FireBodyCollector.ChunkSize - 1) / FireBodyCollector.ChunkSize;
        int before = _builtChunks;
        while (_builtChunks < needed)
        {
            var chunk = _chunks[_builtChunks];
            if (!chunk.IsBuilt && !BuildHere(chunk))
            {
                Report(before);
                return WaitAsync(chunk, end);
            }
            chunk.ThrowIfFailed();
            _builtChunks++;
        }
        Report(before);
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits until every body is built; one caller at a time.</summary>
    public ValueTask WhenAllBuiltAsync() => WhenBuiltAsync(_count);

    /// <summary>The fire is over: helpers still waiting to build for it stop.</summary>
    public void Dispose() => _progress?.Abandon();

    private void Report(int before)
    {
        if (_builtChunks != before)
        {
            _progress?.Reached(_builtChunks);
        }
    }

    private async ValueTask WaitAsync(FireBodyCollector.Chunk chunk, int end)
    {
        await chunk.WhenBuilt.ConfigureAwait(false);
        await WhenBuiltAsync(end).ConfigureAwait(false);
    }

    private bool BuildHere(FireBodyCollector.Chunk chunk)
    {
        if (!chunk.IsWaiting)
        {
            return false;
        }
        using var builder = _fire.StartBodies();
        return chunk.TryBuild(builder);
    }

    public IEnumerator<ReadOnlyMemory<byte>> GetEnumerator()
    {
        for (int i = 0; i < _count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
