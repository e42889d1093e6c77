namespace LoomSched.Config;

/// <summary><c>task:</c> of a task schedule: it publishes a <c>TaskMessage</c>.</summary>
public sealed class TaskTemplate(
    string workerType, IReadOnlyDictionary<string, object?> payload, ModelTier modelTier, Priority priority)
    : MessageTemplate(payload, priority)
{
    /// <summary><c>worker_type</c>.</summary>
    public string WorkerType { get; } = workerType;

    /// <summary><c>payload</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, object?> Payload => Map;

    /// <summary><c>model_tier</c>.</summary>
    public ModelTier ModelTier { get; } = modelTier;
}
