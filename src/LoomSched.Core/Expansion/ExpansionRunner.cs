using System.Collections.Concurrent;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Scheduling;
using Microsoft.Extensions.Logging;

namespace LoomSched.Expansion;

/// <summary>
/// Runs a schedule's expansion function for one fire (bounded by its timeout and cap) and reads every map into the
/// fire's bodies before any message is sent, so that a bad value or an oversize expansion refuses the whole fire
/// rather than half-sending it.
/// </summary>
internal sealed class ExpansionRunner(EngineOptions options, TimeProvider time)
{
    // A call or a reading left running past its timeout, by schedule: the function is not called again for that
    // schedule until it ends, so that a function that ignores its cancellation holds one thread, not one per slot.
    private readonly ConcurrentDictionary<string, Task> _leftBehind = new(StringComparer.Ordinal);

    /// <summary>
    /// The bodies of a fire: one without an expansion, else body i for map i. A big fire's later bodies may still be
    /// building when this returns (what is left cannot fail: <see cref="FireBodyCollector"/>).
    /// </summary>
    /// <exception cref="FireFailedException">The function is unknown, failed, ran out of time or returned bad maps.</exception>
    public async ValueTask<CollectedBodies> BodiesAsync(
        ScheduleDefinition definition, FireMessages slotMessages, DateTimeOffset slot, CancellationToken token)
    {
        if (definition.ExpandFrom is not { } functionName)
        {
            return CollectedBodies.One(slotMessages.BuildBody(null), slotMessages);
        }
        if (!options.Registry.TryGet(functionName, out var function))
        {
            throw new FireFailedException($"expansion function \"{functionName}\" is not registered");
        }
        if (_leftBehind.TryGetValue(definition.Name, out var earlier) && !earlier.IsCompleted)
        {
            throw new FireFailedException(
                $"expansion \"{functionName}\" still runs from an earlier fire that passed its timeout (it does not stop when cancelled); it is not called again until that call returns");
        }

        var context = new ExpansionContext
        {
            ScheduleName = definition.Name,
            ScheduledFor = slot,
            Args = definition.ExpandArgs,
            MaxMaps = definition.MaxExpansion,
            Services = options.Services,
            Logger = options.LoggerFactory.CreateLogger($"expansion {functionName} (schedule {definition.Name})"),
        };
        IEnumerable<IEnumerable<KeyValuePair<string, object?>>>? maps;
        long called = time.GetTimestamp();
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(token))
        {
            timeout.CancelAfter(definition.ExpandTimeout);
            // Task.Run so that a function that blocks before its first await is still bounded by the timeout.
            var call = Task.Run(() => function.Invoke(context, timeout.Token).AsTask(), CancellationToken.None);
            try
            {
                maps = await call.WaitAsync(definition.ExpandTimeout, time, token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                await timeout.CancelAsync().ConfigureAwait(false);
                LeaveBehind(definition.Name, call);
                throw new FireFailedException(
                    $"expansion \"{functionName}\" did not finish within {definition.ExpandTimeout.TotalSeconds:0.###} s (expand_timeout_seconds)");
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new FireFailedException(
                    $"expansion \"{functionName}\" was cancelled after {definition.ExpandTimeout.TotalSeconds:0.###} s (expand_timeout_seconds)");
            }
            catch (ExpansionException ex)
            {
                throw new FireFailedException($"expansion \"{functionName}\" failed: {OperatorReason(functionName, ex)}");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Anything else is for the function's developer: its type says where to look.
                throw new FireFailedException($"expansion \"{functionName}\" threw {ex.GetType().Name}: {ex.Message}");
            }
        }
        if (maps is null)
        {
            throw new FireFailedException($"expansion \"{functionName}\" returned null instead of a list of maps");
        }

        // A lazy result (yield, LINQ) runs the function's code while its maps are read: the timeout bounds that too.
        // The reading runs as a task of its own that owns its bodies, so that one stuck in the function's code can be
        // left behind (as a call that hangs is) without its memory going back to the pool while it still writes.
        var left = definition.ExpandTimeout - time.GetElapsedTime(called);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(token);
        var read = Task.Run(() => ReadMaps(definition, functionName, maps, slotMessages, reading.Token), CancellationToken.None);
        try
        {
            return await read.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, time, token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await reading.CancelAsync().ConfigureAwait(false);
            _ = read.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            LeaveBehind(definition.Name, read);
            throw new FireFailedException(
                $"expansion \"{functionName}\" did not hand over its maps within {definition.ExpandTimeout.TotalSeconds:0.###} s (expand_timeout_seconds); nothing was sent");
        }
    }

    /// <summary>Remembers a call or reading still running past its timeout until it ends.</summary>
    private void LeaveBehind(string schedule, Task running)
    {
        _leftBehind[schedule] = running;
        _ = running.ContinueWith(
            t => _leftBehind.TryRemove(new KeyValuePair<string, Task>(schedule, t)),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Reads every map of a fire into its bodies; disposes them on failure.</summary>
    private CollectedBodies ReadMaps(ScheduleDefinition definition, string functionName,
        IEnumerable<IEnumerable<KeyValuePair<string, object?>>> maps, FireMessages slotMessages, CancellationToken token)
    {
        using var bodies = new FireBodyCollector(slotMessages, options.BuildHelpers);
        int index = 0;
        try
        {
            foreach (var map in maps)
            {
                if (index >= definition.MaxExpansion)
                {
                    throw new FireFailedException(
                        $"expansion \"{functionName}\" returned more than {definition.MaxExpansion} maps (max_expansion); nothing was sent");
                }
                if (map is null)
                {
                    throw new FireFailedException($"expansion \"{functionName}\" returned a null map at index {index}; nothing was sent");
                }
                bodies.Add(map);
                index++;
                token.ThrowIfCancellationRequested(); // out of time: a slow yield stops at its next map
            }
            return bodies.Finish();
        }
        catch (UnserializableValueException ex)
        {
            throw new FireFailedException($"expansion \"{functionName}\" map {index}: {ex.Message}; nothing was sent");
        }
        catch (ExpansionException ex)
        {
            throw new FireFailedException($"expansion \"{functionName}\" failed while its maps were read: {OperatorReason(functionName, ex)}");
        }
        catch (Exception ex) when (ex is not FireFailedException and not OperationCanceledException)
        {
            throw new FireFailedException($"expansion \"{functionName}\" failed while its maps were read: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>An <see cref="ExpansionException"/> is written for the operator: shown as it is, without the function's name twice.</summary>
    private static string OperatorReason(string functionName, ExpansionException ex) =>
        ex.Message.StartsWith(functionName + ": ", StringComparison.Ordinal) ? ex.Message[(functionName.Length + 2)..] : ex.Message;
}
