using System.Collections;
using System.Collections.Concurrent;

namespace LoomSched.Dispatch;

/// <summary>
/// Collects the bodies of one fire's messages, map by map, in expansion order, and builds those of a big fire on more
/// than one core: after the first <see cref="ChunkSize"/> maps (built on the reading thread, as a small fire's are),
/// full chunks of maps queue up for helper tasks, which build them while the function's maps are read on; once they
/// are all read, the reading thread helps with what is left.
/// </summary>
/// <remarks>
/// A map is read when the function hands it over, as before: its pairs are copied then. Only a map whose values are
/// all plain values (text, numbers, booleans, null, times, ids) waits to be written: such a value cannot change after
/// the copy. A map holding a list, a map or a value with no JSON form is written at once, on the reading thread, so
/// that a function reusing a list between maps gets each map's contents, and a bad value fails the fire at its index.
/// Nothing is sent before every body is built: a fire that fails half-way sends nothing.
/// </remarks>
internal sealed class FireBodyCollector : IDisposable
{
    /// <summary>Maps per chunk; a fire of fewer is built on the reading thread only.</summary>
    public const int ChunkSize = 1024;

    private readonly FireMessages _fire;
    private readonly int _helpers;
    private readonly MessageBuilder.FireBodies _inline;
    private readonly List<Chunk> _chunks = [];
    private readonly ConcurrentQueue<Chunk> _queued = new();
    private readonly List<Task> _started = [];
    private Chunk? _current;
    private int _count;
    private int _active; // helpers running

    /// <param name="fire">The fire.</param>
    /// <param name="helpers">How many helper tasks may build at once (0: all on the reading thread).</param>
    public FireBodyCollector(FireMessages fire, int helpers)
    {
        _fire = fire;
        _helpers = helpers;
        _inline = fire.StartBodies();
    }

    /// <summary>The bodies so far.</summary>
    public int Count => _count;

    /// <summary>Adds the body of the next map (built now, or later by a helper).</summary>
    /// <exception cref="UnserializableValueException">A value of the map has no JSON form.</exception>
    public void Add(IEnumerable<KeyValuePair<string, object?>> map)
    {
        if (_current is null || _current.Count == ChunkSize)
        {
            if (_current is not null)
            {
                Launch(_current);
            }
            _current = new Chunk();
            _chunks.Add(_current);
        }
        // The first chunk is always built here: a fire of a few maps never waits for a helper.
        if (_helpers == 0 || _chunks.Count == 1)
        {
            _current.Add(_inline.Build(map));
        }
        else
        {
            // Read once, as it is handed over: a map of plain values waits, any other is written now (from the copy).
            var pairs = map is KeyValuePair<string, object?>[] array ? (KeyValuePair<string, object?>[])array.Clone() : map.ToArray();
            if (AllPlain(pairs))
            {
                _current.Defer(pairs);
            }
            else
            {
                _current.Add(_inline.Build(pairs));
            }
        }
        _count++;
    }

    /// <summary>Waits until every body is built; returns them in expansion order.</summary>
    public async Task<IReadOnlyList<ReadOnlyMemory<byte>>> FinishAsync()
    {
        // The reading thread is free now: it builds the last chunk and helps with what waits.
        _current?.BuildDeferred(_inline);
        while (_queued.TryDequeue(out var chunk))
        {
            chunk.BuildDeferred(_inline);
        }
        await Task.WhenAll(_started).ConfigureAwait(false);
        return new Bodies([.. _chunks], _count);
    }

    public void Dispose() => _inline.Dispose();

    /// <summary>A full chunk: queued for the helpers (one more starts if fewer than allowed run).</summary>
    private void Launch(Chunk chunk)
    {
        if (!chunk.HasDeferred)
        {
            return;
        }
        _queued.Enqueue(chunk);
        int active = Volatile.Read(ref _active);
        if (active < _helpers && Interlocked.CompareExchange(ref _active, active + 1, active) == active)
        {
            // A thread of its own, not one of the pool's: on two cores the pool has two threads, and the timer loop's
            // next wake-up must not wait behind a fan-out's build.
            var fire = _fire;
            _started.Add(Task.Factory.StartNew(
                () => Help(fire), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        }
    }

    private void Help(FireMessages fire)
    {
        using var bodies = fire.StartBodies();
        while (true)
        {
            while (_queued.TryDequeue(out var chunk))
            {
                chunk.BuildDeferred(bodies);
            }
            Interlocked.Decrement(ref _active);
            // A chunk queued after the queue looked empty, and before this helper counted itself out, would wait for
            // the reading thread: take it back unless enough helpers run.
            int active = Volatile.Read(ref _active);
            if (_queued.IsEmpty || active >= _helpers || Interlocked.CompareExchange(ref _active, active + 1, active) != active)
            {
                return;
            }
        }
    }

    private static bool AllPlain(KeyValuePair<string, object?>[] pairs)
    {
        foreach (var (key, value) in pairs)
        {
            if (key is null || !IsPlain(value))
            {
                return false;
            }
        }
        return true;
    }

    // Values that cannot change once read and always have a JSON form.
    private static bool IsPlain(object? value) => value switch
    {
        null or string or bool or int or long or decimal or short or sbyte or byte or ushort or uint or ulong => true,
        double d => double.IsFinite(d),
        float f => float.IsFinite(f),
        Guid or DateTimeOffset or DateTime => true,
        _ => false,
    };

    /// <summary>Up to <see cref="ChunkSize"/> consecutive bodies; deferred maps are built in place.</summary>
    private sealed class Chunk
    {
        private readonly ReadOnlyMemory<byte>[] _bodies = new ReadOnlyMemory<byte>[ChunkSize];
        private KeyValuePair<string, object?>[]?[]? _deferred;

        public int Count { get; private set; }

        public bool HasDeferred => _deferred is not null;

        public ReadOnlyMemory<byte> this[int i] => _bodies[i];

        public void Add(ReadOnlyMemory<byte> body) => _bodies[Count++] = body;

        public void Defer(KeyValuePair<string, object?>[] pairs)
        {
            _deferred ??= new KeyValuePair<string, object?>[]?[ChunkSize];
            _deferred[Count++] = pairs;
        }

        public void BuildDeferred(MessageBuilder.FireBodies builder)
        {
            if (_deferred is not { } deferred)
            {
                return;
            }
            for (int i = 0; i < Count; i++)
            {
                if (deferred[i] is { } pairs)
                {
                    _bodies[i] = builder.Build(pairs);
                }
            }
            _deferred = null;
        }
    }

    /// <summary>The bodies of all chunks, as one list.</summary>
    private sealed class Bodies(Chunk[] chunks, int count) : IReadOnlyList<ReadOnlyMemory<byte>>
    {
        public int Count => count;

        public ReadOnlyMemory<byte> this[int index] => (uint)index < (uint)count
            ? chunks[index / ChunkSize][index % ChunkSize]
            : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<ReadOnlyMemory<byte>> GetEnumerator()
        {
            for (int i = 0; i < count; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
