using System.ComponentModel;

namespace LoomSched.Expansion;

/// <summary>
/// Adapts what an expansion function returns to the shape of <see cref="ExpansionInvoker"/>. Called by generated
/// code; generic instead of reflective, so every instantiation is known at compile time (trim- and AOT-safe).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ExpansionResults
{
    /// <summary>
    /// Views a sequence of maps with <typeparamref name="TValue"/> values as maps of boxed values, lazily.
    /// A null map inside the sequence is handed on as null, for the engine to refuse the fire naming its index.
    /// </summary>
    /// <typeparam name="TMap">The map type the function returns, e.g. <c>Dictionary&lt;string, string&gt;</c>.</typeparam>
    /// <typeparam name="TValue">The map's value type.</typeparam>
    /// <param name="maps">The function's result (null stays null).</param>
    /// <param name="functionName">The function's registered name (the generated call passes it).</param>
    public static IEnumerable<IEnumerable<KeyValuePair<string, object?>>>? Box<TMap, TValue>(
        IEnumerable<TMap?>? maps, string functionName)
        where TMap : IEnumerable<KeyValuePair<string, TValue>>
    {
        ArgumentNullException.ThrowIfNull(functionName);
        return maps is null ? null : BoxMaps<TMap, TValue>(maps);
    }

    /// <summary>Collects an asynchronous sequence of maps, then boxes it like <see cref="Box{TMap,TValue}"/>.</summary>
    /// <param name="maps">The function's result.</param>
    /// <param name="functionName">The function's registered name (the generated call passes it).</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    public static ValueTask<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?> CollectAsync<TMap, TValue>(
        IAsyncEnumerable<TMap?>? maps, string functionName, CancellationToken cancellationToken)
        where TMap : IEnumerable<KeyValuePair<string, TValue>> =>
        CollectAsync<TMap, TValue>(maps, functionName, int.MaxValue, cancellationToken);

    /// <summary>
    /// Collects an asynchronous sequence of maps, at most one more than <see cref="ExpansionContext.MaxMaps"/> (enough for
    /// the engine to refuse the fire), then boxes it like <see cref="Box{TMap,TValue}"/>.
    /// </summary>
    /// <param name="maps">The function's result.</param>
    /// <param name="functionName">The function's registered name (the generated call passes it).</param>
    /// <param name="context">The fire's context: its <see cref="ExpansionContext.MaxMaps"/> bounds the collection.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    public static ValueTask<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?> CollectAsync<TMap, TValue>(
        IAsyncEnumerable<TMap?>? maps, string functionName, ExpansionContext context, CancellationToken cancellationToken)
        where TMap : IEnumerable<KeyValuePair<string, TValue>>
    {
        ArgumentNullException.ThrowIfNull(context);
        return CollectAsync<TMap, TValue>(maps, functionName, context.MaxMaps, cancellationToken);
    }

    private static async ValueTask<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?> CollectAsync<TMap, TValue>(
        IAsyncEnumerable<TMap?>? maps, string functionName, int maxMaps, CancellationToken cancellationToken)
        where TMap : IEnumerable<KeyValuePair<string, TValue>>
    {
        ArgumentNullException.ThrowIfNull(functionName);
        if (maps is null)
        {
            return null;
        }
        // Each map is copied as it comes, lists and maps inside it too: a stream may fill one map again for every
        // map it yields (as a lazy sequence may), and all are read only once the stream has ended.
        var collected = new List<KeyValuePair<string, object?>[]?>();
        await foreach (var map in maps.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            collected.Add(map is null ? null : CopyMap<TMap, TValue>(map));
            if (collected.Count > maxMaps)
            {
                break; // one over the limit: the engine refuses the fire (max_expansion) without the rest
            }
        }
        return BoxMaps<KeyValuePair<string, object?>[], object?>(collected);
    }

    private static KeyValuePair<string, object?>[] CopyMap<TMap, TValue>(TMap map)
        where TMap : IEnumerable<KeyValuePair<string, TValue>>
    {
        var pairs = new List<KeyValuePair<string, object?>>();
        foreach (var pair in map)
        {
            pairs.Add(new KeyValuePair<string, object?>(pair.Key, Copy(pair.Value, 0)));
        }
        return [.. pairs];
    }

    // What JsonValueWriter writes as a map or a list is copied; anything else (scalars, JSON values, values with no
    // JSON form, which the writer refuses later) is kept as it is. Past the writer's depth nothing is copied.
    private static object? Copy(object? value, int depth)
    {
        if (depth > Dispatch.JsonValueWriter.MaxDepth || value is null or string or System.Text.Json.JsonElement)
        {
            return value;
        }
        switch (value)
        {
            case System.Text.Json.Nodes.JsonNode node:
                return node.DeepClone();
            case IEnumerable<KeyValuePair<string, object?>> map:
            {
                var pairs = new List<KeyValuePair<string, object?>>();
                foreach (var (key, item) in map)
                {
                    pairs.Add(new KeyValuePair<string, object?>(key, Copy(item, depth + 1)));
                }
                return pairs.ToArray();
            }
            case System.Collections.IDictionary dictionary:
            {
                var pairs = new List<KeyValuePair<string, object?>>(dictionary.Count);
                foreach (System.Collections.DictionaryEntry entry in dictionary)
                {
                    if (entry.Key is not string key)
                    {
                        return value; // the writer refuses it, naming the key's type
                    }
                    pairs.Add(new KeyValuePair<string, object?>(key, Copy(entry.Value, depth + 1)));
                }
                return pairs.ToArray();
            }
            case System.Collections.IEnumerable sequence:
            {
                var items = new List<object?>();
                foreach (var item in sequence)
                {
                    items.Add(Copy(item, depth + 1));
                }
                return items.ToArray();
            }
            default:
                return value;
        }
    }

    private static IEnumerable<IEnumerable<KeyValuePair<string, object?>>> BoxMaps<TMap, TValue>(IEnumerable<TMap?> maps)
        where TMap : IEnumerable<KeyValuePair<string, TValue>>
    {
        foreach (var map in maps)
        {
            // A null map goes on as null: the engine refuses the fire, naming its index ("returned a null map at index N").
            yield return map is null ? null! : map is IEnumerable<KeyValuePair<string, object?>> boxed ? boxed : BoxValues<TMap, TValue>(map);
        }
    }

    // A map whose size is known (a dictionary, a list, an array) is boxed into an array at once: one allocation, which
    // the message's merge then uses as it is (MergedMap), where a lazy view costs an iterator, an enumeration through
    // it and a copy. Either way the map is read when the function hands it over, before it is asked for the next.
    private static IEnumerable<KeyValuePair<string, object?>> BoxValues<TMap, TValue>(TMap map)
        where TMap : IEnumerable<KeyValuePair<string, TValue>>
    {
        if (!map.TryGetNonEnumeratedCount(out int count))
        {
            return BoxLazily<TMap, TValue>(map);
        }
        var pairs = new KeyValuePair<string, object?>[count];
        int i = 0;
        foreach (var pair in map)
        {
            if (i == pairs.Length)
            {
                Array.Resize(ref pairs, Math.Max(4, pairs.Length * 2)); // a collection that grew while it was read
            }
            pairs[i++] = new KeyValuePair<string, object?>(pair.Key, pair.Value);
        }
        return i == pairs.Length ? pairs : pairs[..i];
    }

    private static IEnumerable<KeyValuePair<string, object?>> BoxLazily<TMap, TValue>(TMap map)
        where TMap : IEnumerable<KeyValuePair<string, TValue>>
    {
        foreach (var pair in map)
        {
            yield return new KeyValuePair<string, object?>(pair.Key, pair.Value);
        }
    }
}
