namespace LoomSched.Config;

/// <summary>
/// What each message of a schedule carries from the config: a <see cref="GoalTemplate"/> or a <see cref="TaskTemplate"/>.
/// The kind is the type, so a schedule cannot say goal and hold a task.
/// </summary>
public abstract class MessageTemplate
{
    private protected MessageTemplate(IReadOnlyDictionary<string, object?> map, Priority priority)
    {
        Map = map;
        Priority = priority;
    }

    /// <summary>The map an expansion map is merged over: a goal's <c>context</c>, a task's <c>payload</c>.</summary>
    public IReadOnlyDictionary<string, object?> Map { get; }

    /// <summary><c>priority</c>.</summary>
    public Priority Priority { get; }
}
