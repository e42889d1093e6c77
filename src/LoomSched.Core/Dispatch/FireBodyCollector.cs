using System.Collections.Concurrent;
using System.Numerics;

namespace LoomSched.Dispatch;

/// <summary>
/// Collects the bodies of one fire's messages, map by map, in expansion order, and builds those of a big fire on more
/// than one core: after the first <see cref="ChunkSize"/> maps (built on the reading thread, as a small fire's are),
/// full chunks of maps queue up for helper threads, which build them a few chunks ahead of the sender.
/// </summary>
/// <remarks>
/// <para>
/// A map is read when the function hands it over: its pairs are copied then. Only a map whose values are all plain
/// values (text, numbers, booleans, null, times, ids) waits to be written: such a value cannot change after the copy,
/// and it always has a JSON form. A map holding a list, a map or a value with no JSON form is written at once, on
/// the reading thread, so that a function reusing a list between maps gets each map's contents, and a bad value fails
/// the fire at its index. So every map is read and accepted before anything is sent (a fire that fails half-way
/// through its maps sends nothing), and what is left to build then cannot fail.
/// </para>
/// <para>
/// Sending starts as soon as the maps are read, with the bodies built so far, not once every body is built: a big
/// fan-out's first messages go out that much sooner. The helpers stay at most <see cref="AheadChunks"/> chunks ahead of the sender, so that
/// a sender slowed down by NATS does not have every body of the fire built and waiting; a chunk the sender needs
/// before a helper has started it is built by the sender.
/// </para>
/// </remarks>
internal sealed class FireBodyCollector : IDisposable
{
    /// <summary>Maps per chunk; a fire of fewer is built on the reading thread only.</summary>
    public const int ChunkSize = 1024;

    /// <summary>How many chunks past the one the sender needs next the helpers may build.</summary>
    public const int AheadChunks = 8;

    private readonly FireMessages _fire;
    private readonly int _helpers;
    private readonly FireBodies _inline;
    private readonly List<Chunk> _chunks = [];
    private readonly ConcurrentQueue<Chunk> _queued = new();
    private readonly SendProgress _progress = new();
    private Chunk? _current;
    private int _count;
    private int _active; // helpers running
    private bool _finished;

    /// <param name="fire">The fire.</param>
    /// <param name="helpers">How many helper threads may build at once (0: all on the reading thread).</param>
    public FireBodyCollector(FireMessages fire, int helpers)
    {
        _fire = fire;
        _helpers = helpers;
        _inline = fire.StartBodies();
    }

    /// <summary>The bodies so far.</summary>
    public int Count => _count;

    /// <summary>The chunks so far (for tests: whether each is built yet).</summary>
    internal IReadOnlyList<Chunk> Chunks => _chunks;

    /// <summary>Helper threads running for this fire.</summary>
    internal int ActiveHelpers => Volatile.Read(ref _active);

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
            _current = new Chunk(_chunks.Count);
            _chunks.Add(_current);
        }
        // The first chunk is always built here: a fire of a few maps never waits for a helper.
        if (_helpers == 0 || _chunks.Count == 1)
        {
            _current.Add(_inline.Build(map));
        }
        else
        {
            // Read once, as it is handed over, into the chunk's store of pairs: a map of plain values waits there, any
            // other is written now (from the copy) and leaves the store.
            int at = _current.StartMap();
            if (map is KeyValuePair<string, object?>[] array)
            {
                _current.AppendPairs(array);
            }
            else
            {
                foreach (var pair in map)
                {
                    _current.AppendPair(pair);
                }
            }
            if (AllPlain(_current.PairsFrom(at)))
            {
                _current.DeferMap(at);
            }
            else
            {
                _current.Add(_inline.Build(_current.TakePairsFrom(at)));
            }
        }
        _count++;
    }

    /// <summary>
    /// Every map is read: returns the bodies in expansion order. Those of a big fire are built as the sender gets
    /// near them (<see cref="CollectedBodies.WhenBuiltAsync"/>); dispose of them when the fire ends.
    /// </summary>
    public CollectedBodies Finish()
    {
        if (_current is not null)
        {
            Launch(_current);
            _current = null;
        }
        _finished = true;
        return new CollectedBodies([.. _chunks], _count, _fire, _progress);
    }

    /// <summary>Ends the reading; a fire that failed before <see cref="Finish"/> also stops the helpers.</summary>
    public void Dispose()
    {
        _inline.Dispose();
        if (!_finished)
        {
            _progress.Abandon();
        }
    }

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
            // next wake-up must not wait behind a fan-out's build (nor behind a helper waiting for the sender).
            var fire = _fire;
            _ = Task.Factory.StartNew(
                () => Help(fire), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    private void Help(FireMessages fire)
    {
        using var bodies = fire.StartBodies();
        while (true)
        {
            while (_queued.TryDequeue(out var chunk))
            {
                if (!_progress.WaitUntilNear(chunk.Index))
                {
                    _queued.Clear(); // the fire is over
                    Interlocked.Decrement(ref _active);
                    return;
                }
                chunk.TryBuild(bodies);
            }
            Interlocked.Decrement(ref _active);
            // A chunk queued after the queue looked empty, and before this helper counted itself out, would wait for
            // the sender to build it: take it back unless enough helpers run.
            int active = Volatile.Read(ref _active);
            if (_queued.IsEmpty || active >= _helpers || Interlocked.CompareExchange(ref _active, active + 1, active) != active)
            {
                return;
            }
        }
    }

    private static bool AllPlain(ReadOnlySpan<KeyValuePair<string, object?>> pairs)
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
        null or string or bool or int or long or decimal or short or sbyte or byte or ushort or uint or ulong or BigInteger => true,
        double d => double.IsFinite(d),
        float f => float.IsFinite(f),
        Guid or DateTimeOffset or DateTime => true,
        _ => false,
    };

    /// <summary>
    /// Up to <see cref="ChunkSize"/> consecutive bodies; deferred maps are built in place, once, by whichever thread
    /// claims the chunk first (a helper, or the sender when it gets there first).
    /// </summary>
    internal sealed class Chunk(int index)
    {
        private const int Built = 0, Waiting = 1, Building = 2;

        private readonly ReadOnlyMemory<byte>[] _bodies = new ReadOnlyMemory<byte>[ChunkSize];
        // The deferred maps' pairs, one after another (one array per chunk, not one per map: a big fan-out's maps
        // would otherwise be 100,000 small arrays living until built). Map i's pairs start at _starts[i] and end
        // where the next deferred map's start; -1 marks a body built at once.
        private KeyValuePair<string, object?>[]? _pairs;
        private int[]? _starts;
        private int _pairCount;
        private TaskCompletionSource? _done;
        private Exception? _failure;
        private int _state = Built;

        /// <summary>Its place in the fire: the first body is number <c>Index * ChunkSize</c>.</summary>
        public int Index => index;

        public int Count { get; private set; }

        public bool HasDeferred => _starts is not null;

        public bool IsBuilt => Volatile.Read(ref _state) == Built;

        public bool IsWaiting => Volatile.Read(ref _state) == Waiting;

        /// <summary>Completes when the chunk is built (by another thread).</summary>
        public Task WhenBuilt => _done?.Task ?? Task.CompletedTask;

        public ReadOnlyMemory<byte> this[int i] => IsBuilt
            ? _bodies[i]
            : throw new InvalidOperationException("a body was read before its chunk was built (WhenBuiltAsync)");

        public void Add(ReadOnlyMemory<byte> body)
        {
            if (_starts is not null)
            {
                _starts[Count] = -1;
            }
            _bodies[Count++] = body;
        }

        /// <summary>Where the next map's pairs go in the store.</summary>
        public int StartMap() => _pairCount;

        public void AppendPair(KeyValuePair<string, object?> pair)
        {
            Reserve(1);
            _pairs![_pairCount++] = pair;
        }

        public void AppendPairs(KeyValuePair<string, object?>[] pairs)
        {
            Reserve(pairs.Length);
            pairs.CopyTo(_pairs!, _pairCount);
            _pairCount += pairs.Length;
        }

        public ReadOnlySpan<KeyValuePair<string, object?>> PairsFrom(int at) => _pairs.AsSpan(at, _pairCount - at);

        /// <summary>The pairs from <paramref name="at"/> leave the store, as an array of their own.</summary>
        public KeyValuePair<string, object?>[] TakePairsFrom(int at)
        {
            var pairs = PairsFrom(at).ToArray();
            _pairs.AsSpan(at, _pairCount - at).Clear();
            _pairCount = at;
            return pairs;
        }

        /// <summary>The next body is the map whose pairs start at <paramref name="at"/>: built later.</summary>
        public void DeferMap(int at)
        {
            if (_starts is null)
            {
                _starts = new int[ChunkSize + 1];
                _starts.AsSpan(0, Count).Fill(-1);
                _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _state = Waiting;
            }
            _starts[Count++] = at;
        }

        /// <summary>Builds the deferred maps unless another thread has claimed them; false if one had.</summary>
        public bool TryBuild(FireBodies builder)
        {
            if (Interlocked.CompareExchange(ref _state, Building, Waiting) != Waiting)
            {
                return false;
            }
            try
            {
                var starts = _starts!;
                var store = _pairs!;
                // A map is handed to the builder in an array of its size, reused from map to map: the builder writes
                // it before it returns and keeps nothing of it.
                var bySize = new KeyValuePair<string, object?>[]?[8];
                for (int i = 0; i < Count; i++)
                {
                    int at = starts[i];
                    if (at < 0)
                    {
                        continue;
                    }
                    int end = NextStart(starts, i + 1);
                    int size = end - at;
                    var map = size < bySize.Length ? bySize[size] ??= new KeyValuePair<string, object?>[size] : new KeyValuePair<string, object?>[size];
                    store.AsSpan(at, size).CopyTo(map);
                    _bodies[i] = builder.Build(map);
                }
                _pairs = null;
                _starts = null;
            }
            catch (Exception ex)
            {
                // Plain values always have a JSON form: only the machine fails here (memory). The sender gets it.
                _failure = ex;
            }
            Volatile.Write(ref _state, Built);
            _done!.SetResult();
            return true;
        }

        private int NextStart(int[] starts, int from)
        {
            for (int j = from; j < Count; j++)
            {
                if (starts[j] >= 0)
                {
                    return starts[j];
                }
            }
            return _pairCount;
        }

        private void Reserve(int more)
        {
            if (_pairs is null)
            {
                _pairs = new KeyValuePair<string, object?>[Math.Max(ChunkSize, more)];
            }
            else if (_pairCount + more > _pairs.Length)
            {
                Array.Resize(ref _pairs, Math.Max(_pairs.Length * 2, _pairCount + more));
            }
        }

        /// <summary>Throws what its build failed with, if it did.</summary>
        public void ThrowIfFailed()
        {
            if (_failure is { } failure)
            {
                throw new InvalidOperationException($"building a message failed: {failure.Message}", failure);
            }
        }
    }

    /// <summary>How far the sender has got (in chunks), for the helpers to keep near it.</summary>
    internal sealed class SendProgress
    {
        private readonly object _gate = new(); // Monitor.Wait needs a monitor, not a Lock
        private int _reached;
        private int _waiting;
        private bool _abandoned;

        /// <summary>The sender needs chunk <paramref name="chunks"/> next (all before it are built).</summary>
        public void Reached(int chunks)
        {
            lock (_gate)
            {
                _reached = chunks;
                if (_waiting > 0)
                {
                    Monitor.PulseAll(_gate);
                }
            }
        }

        /// <summary>The fire is over: no more chunks are needed.</summary>
        public void Abandon()
        {
            lock (_gate)
            {
                _abandoned = true;
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Blocks until chunk <paramref name="index"/> is near enough the sender; false if the fire is over.</summary>
        public bool WaitUntilNear(int index)
        {
            lock (_gate)
            {
                while (!_abandoned && index > _reached + AheadChunks)
                {
                    _waiting++;
                    Monitor.Wait(_gate);
                    _waiting--;
                }
                return !_abandoned;
            }
        }
    }
}
