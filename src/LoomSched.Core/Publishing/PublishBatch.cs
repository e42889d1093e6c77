using LoomSched.Dispatch;

namespace LoomSched.Publishing;

/// <summary>Messages taken from the buffer together, sent together and confirmed together.</summary>
public sealed class PublishBatch
{
    internal PublishBatch(List<DispatchMessage> messages, long through)
    {
        Messages = messages;
        Through = through;
    }

    /// <summary>The messages still to deliver, in order; a transport removes those refused before they went out.</summary>
    public List<DispatchMessage> Messages { get; }

    /// <summary>How many messages the buffer had given out up to this batch's last one (its place in line).</summary>
    public long Through { get; }

    /// <summary>Why the last confirmation failed, when the confirmer knows; said in the resend line.</summary>
    public string? Failure { get; set; }

    /// <summary>The confirmer's own state of the batch's last send (e.g. the answers it still awaits).</summary>
    public object? ConfirmState { get; set; }

    /// <summary>Messages of the last send refused for good (already counted as errors): not published when it settles.</summary>
    public int RefusedCount { get; private set; }

    /// <summary>Those refused for the user's permissions: said in one line per subject when the batch settles.</summary>
    public List<DispatchMessage>? Denied { get; private set; }

    /// <summary>The publisher's: the confirmation of the last send, true when every message of it is confirmed.</summary>
    internal Task<bool>? Confirm { get; set; }

    private HashSet<DispatchMessage>? _refused;

    /// <summary>
    /// A message of the last send was refused for good (counted by <see cref="PublishBuffer.CountRefused"/>): it leaves the
    /// batch before the batch goes again. Confirmers call it from whatever thread the answer came on.
    /// </summary>
    public void Refuse(DispatchMessage message, bool denied)
    {
        lock (this)
        {
            (_refused ??= new HashSet<DispatchMessage>(ReferenceEqualityComparer.Instance)).Add(message);
            RefusedCount++;
            if (denied)
            {
                (Denied ??= []).Add(message);
            }
        }
    }

    /// <summary>Starts a new send: what was refused in the last one leaves the batch, and the count starts over.</summary>
    public void BeginSend()
    {
        lock (this)
        {
            if (_refused is { Count: > 0 } refused)
            {
                Messages.RemoveAll(refused.Contains);
            }
            _refused = null;
            RefusedCount = 0;
        }
        Failure = null;
    }

    /// <summary>Hands over the permission refusals to say, once.</summary>
    public List<DispatchMessage>? TakeDenied()
    {
        if (Denied is null)
        {
            return null; // the common case, without the lock: refusals are marked before the batch is confirmed
        }
        lock (this)
        {
            var denied = Denied;
            Denied = null;
            return denied;
        }
    }
}
