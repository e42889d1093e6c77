using System.Text.Json.Serialization;

namespace LoomSched.Dispatch;

/// <summary>
/// The source-generated JSON context for Loom's messages, bare and in heddle's envelope: the reference for both wires.
/// The daemon writes its messages as <see cref="BodyLayout"/> spells them, which LoomWireFacts holds to these exact bytes.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(OrchestratorGoal))]
[JsonSerializable(typeof(TaskMessage))]
[JsonSerializable(typeof(WireEnvelope<HeddleGoal>))]
[JsonSerializable(typeof(WireEnvelope<HeddleTask>))]
public sealed partial class LoomJsonContext : JsonSerializerContext;
