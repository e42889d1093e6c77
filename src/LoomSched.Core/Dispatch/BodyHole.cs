namespace LoomSched.Dispatch;

/// <summary>A place in a body for what each message has of its own (<see cref="BodyValues"/>).</summary>
internal enum BodyHole : byte
{
    /// <summary><c>goal_id</c> or <c>task_id</c>.</summary>
    Id,

    /// <summary>The envelope's <c>message_id</c>.</summary>
    MessageId,

    /// <summary>The config's map with the expansion map merged over it.</summary>
    Map,

    /// <summary>When the message was made: <c>created_at</c>, or the envelope's <c>recorded_at</c>.</summary>
    Created,

    /// <summary>The slot: a task's <c>scheduled_for</c>, the envelope's <c>occurred_at</c>.</summary>
    Slot,
}
