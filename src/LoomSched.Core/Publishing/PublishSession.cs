namespace LoomSched.Publishing;

/// <summary>
/// One connection's hold on the batches sent on it: cancelled when that connection goes, so that nothing waiting to
/// go out on it goes out on the next one ahead of the batches lost with it.
/// </summary>
public sealed class PublishSession : IDisposable
{
    private readonly CancellationTokenSource _cancel;

    /// <param name="link">What tells the transport's connections apart (for NATS, the server's INFO of this one).</param>
    /// <param name="stop">The publisher's stop: it ends the session too.</param>
    public PublishSession(object? link, CancellationToken stop)
    {
        Link = link;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
    }

    /// <summary>The connection the session was begun on.</summary>
    public object? Link { get; }

    /// <summary>Cancelled when the connection goes or the session ends.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>A send failed on it: nothing more goes out on it; what was sent is settled, then a new one starts.</summary>
    public bool IsBroken { get; set; }

    /// <summary>Cancels the session's token; harmless once the session is disposed.</summary>
    public void Cancel()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <inheritdoc />
    public void Dispose() => _cancel.Dispose();
}
