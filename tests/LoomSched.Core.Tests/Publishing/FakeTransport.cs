using System.Collections.Concurrent;
using LoomSched.Dispatch;
using LoomSched.Publishing;

namespace LoomSched.Tests.Publishing;

/// <summary>
/// A link the test drives: it records every send (with the session it went on) and hands each confirmation to the
/// test, which completes it when it likes.
/// </summary>
internal sealed class FakeTransport(PublishBuffer buffer) : IPublishTransport
{
    private volatile bool _open = true;
    private int _sessions;
    private int _sendsToBreak;

    /// <summary>Every send, in order: the session's number (from 1) and the messages as they went out.</summary>
    public ConcurrentQueue<(int Session, DispatchMessage[] Messages)> Sent { get; } = new();

    /// <summary>Every confirmation asked for, in order; the test completes them.</summary>
    public ConcurrentQueue<(PublishBatch Batch, TaskCompletionSource<bool> Confirm)> Confirmations { get; } = new();

    /// <summary>Messages the link refuses for good as they are written (as NATS does those over max_payload).</summary>
    public Func<DispatchMessage, bool> RefusesWhileSending { get; set; } = _ => false;

    public bool IsOpen
    {
        get => _open;
        set => _open = value;
    }

    public int SessionsBegun => Volatile.Read(ref _sessions);

    /// <summary>The next send breaks off under the write (the connection went away).</summary>
    public void BreakNextSend() => Interlocked.Increment(ref _sendsToBreak);

    /// <summary>The batch each session was readied for, in order.</summary>
    public ConcurrentQueue<DispatchMessage[]> ReadiedFor { get; } = new();

    /// <summary>What a session's readiness waits for (as a missing stream holds <c>publish: jetstream</c>); none by default.</summary>
    public Task Readiness { get; set; } = Task.CompletedTask;

    public Task ReadyAsync(PublishBatch next, CancellationToken stop)
    {
        ReadiedFor.Enqueue([.. next.Messages]);
        return Readiness.WaitAsync(stop);
    }

    public PublishSession? BeginSession(CancellationToken stop) => new(Interlocked.Increment(ref _sessions), stop);

    public void EndSession(PublishSession session)
    {
    }

    public Task<bool> SendAsync(PublishBatch batch, PublishSession session, CancellationToken stop)
    {
        if (Volatile.Read(ref _sendsToBreak) > 0)
        {
            Interlocked.Decrement(ref _sendsToBreak);
            return Task.FromResult(false);
        }
        for (int i = 0; i < batch.Messages.Count; i++)
        {
            if (RefusesWhileSending(batch.Messages[i]))
            {
                buffer.CountRefused();
                batch.Messages.RemoveAt(i--);
            }
        }
        Sent.Enqueue(((int)session.Link!, [.. batch.Messages]));
        return Task.FromResult(true);
    }

    public Task<bool> ConfirmAsync(PublishBatch batch, PublishSession session, CancellationToken stop)
    {
        var confirm = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        session.Token.Register(() => confirm.TrySetCanceled()); // as a real one: the end of its session cuts it
        Confirmations.Enqueue((batch, confirm));
        return confirm.Task;
    }

    public void Confirmed(PublishBatch batch)
    {
    }

    /// <summary>The confirmation asked for at <paramref name="index"/> (in order of asking).</summary>
    public TaskCompletionSource<bool> Confirmation(int index) => Confirmations.ElementAt(index).Confirm;
}
