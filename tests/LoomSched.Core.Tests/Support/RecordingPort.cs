using System.Collections.Concurrent;
using LoomSched.Dispatch;

namespace LoomSched.Tests.Support;

/// <summary>An output port that records what is published, with the (fake) time it was handed over.</summary>
internal sealed class RecordingPort(TimeProvider time) : IDispatchPort
{
    private readonly ConcurrentQueue<(DispatchMessage Message, DateTimeOffset At)> _seen = new();

    /// <summary>Per schedule: when set, publishes of that schedule wait for this task.</summary>
    public ConcurrentDictionary<string, Task> Gates { get; } = new();

    /// <summary>Per schedule: when set, publishes of that schedule throw.</summary>
    public ConcurrentDictionary<string, Exception> Failures { get; } = new();

    /// <summary>Called for every publish, on the thread that publishes, before anything else.</summary>
    public Action<DispatchMessage>? OnPublish { get; set; }

    /// <summary>When set, <see cref="WhenSentAsync"/> waits for this task (messages "not yet confirmed").</summary>
    public Task? Sent { get; set; }

    private int _blocked;

    /// <summary>Publishes waiting at a gate right now.</summary>
    public int Blocked => Volatile.Read(ref _blocked);

    public IReadOnlyList<(DispatchMessage Message, DateTimeOffset At)> Seen => [.. _seen];

    public IReadOnlyList<DispatchMessage> Of(string schedule) =>
        [.. _seen.Where(s => s.Message.ScheduleName == schedule).Select(s => s.Message)];

    public async ValueTask PublishAsync(DispatchMessage message, CancellationToken cancellationToken)
    {
        OnPublish?.Invoke(message);
        if (Failures.TryGetValue(message.ScheduleName, out var failure))
        {
            throw failure;
        }
        if (Gates.TryGetValue(message.ScheduleName, out var gate) && !gate.IsCompleted)
        {
            Interlocked.Increment(ref _blocked);
            try
            {
                await gate.WaitAsync(cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _blocked);
            }
        }
        _seen.Enqueue((message, time.GetUtcNow()));
    }

    /// <summary>
    /// How many messages <see cref="TryPublishNow"/> takes at most (null: none, as a port without it); it stops at the
    /// first message with a gate or a failure, which go through <see cref="PublishAsync(DispatchMessage, CancellationToken)"/>.
    /// </summary>
    public int? HandOverLimit { get; set; }

    private readonly ConcurrentQueue<int> _handOvers = new();

    /// <summary>How many messages each hand-over (<see cref="TryPublishNow"/>) took.</summary>
    public IReadOnlyList<int> HandOvers => [.. _handOvers];

    public int TryPublishNow(ReadOnlySpan<DispatchMessage> messages, TimeSpan untilWritten)
    {
        if (HandOverLimit is not { } limit)
        {
            return 0;
        }
        int taken = 0;
        while (taken < Math.Min(limit, messages.Length)
            && !Gates.ContainsKey(messages[taken].ScheduleName) && !Failures.ContainsKey(messages[taken].ScheduleName))
        {
            OnPublish?.Invoke(messages[taken]);
            _seen.Enqueue((messages[taken], time.GetUtcNow()));
            taken++;
        }
        _handOvers.Enqueue(taken);
        return taken;
    }

    public ValueTask WhenSentAsync(CancellationToken cancellationToken) =>
        Sent is { IsCompleted: false } sent ? new ValueTask(sent.WaitAsync(cancellationToken)) : ValueTask.CompletedTask;

    /// <summary>Waits (in real time, generously) until <paramref name="predicate"/> holds.</summary>
    public static async Task Eventually(Func<bool> predicate, string what, int timeoutMs = 5000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!predicate())
        {
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail($"timed out waiting for: {what}");
            }
            await Task.Delay(2);
        }
    }
}
