namespace LoomSched.Config;

/// <summary><c>goal:</c> of a goal schedule: it publishes an <c>OrchestratorGoal</c>.</summary>
public sealed class GoalTemplate(string instruction, IReadOnlyDictionary<string, object?> context, Priority priority)
    : MessageTemplate(context, priority)
{
    /// <summary><c>instruction</c>.</summary>
    public string Instruction { get; } = instruction;

    /// <summary><c>context</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, object?> Context => Map;
}
