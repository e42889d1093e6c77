using LoomSched.Config;

namespace LoomSched.Dispatch;

/// <summary>
/// The fields of Loom's two bodies in the order the source-generated <see cref="LoomJsonContext"/> writes them, the
/// contract LoomWireFacts holds this to. Spelled once for both wires: heddle's envelope wraps the same fields, less
/// <c>created_at</c>, and names a task's map <c>input</c>.
/// </summary>
internal static class BodyLayout
{
    /// <summary>An enveloped goal's <c>payload_type</c>.</summary>
    public const string GoalPayloadType = "core.OrchestratorGoal";

    /// <summary>An enveloped task's <c>payload_type</c>.</summary>
    public const string TaskPayloadType = "core.TaskMessage";

    /// <summary>Spells the body of <paramref name="template"/>'s messages on <paramref name="wire"/> into <paramref name="parts"/>.</summary>
    /// <param name="parts">Where it goes.</param>
    /// <param name="template">The schedule's goal or task.</param>
    /// <param name="scheduledBy">A task's <c>scheduled_by</c>: the schedule's name as its entry writes it.</param>
    /// <param name="wire">Bare, or in heddle's envelope.</param>
    /// <param name="origin">The envelope's <c>origin</c>.</param>
    public static void Spell<TParts>(ref TParts parts, MessageTemplate template, string scheduledBy, WireFormat wire, string origin)
        where TParts : IBodyParts, allows ref struct
    {
        bool enveloped = wire == WireFormat.Envelope;
        if (enveloped)
        {
            parts.Raw("""{"message_id":"""u8);
            parts.Hole(BodyHole.MessageId);
            parts.Raw(""","payload_type":"""u8);
            parts.Text(template is GoalTemplate ? GoalPayloadType : TaskPayloadType);
            parts.Raw(""","payload":"""u8);
        }
        if (template is GoalTemplate goal)
        {
            parts.Raw("""{"goal_id":"""u8);
            parts.Hole(BodyHole.Id);
            parts.Raw(""","instruction":"""u8);
            parts.Text(goal.Instruction);
            parts.Raw(""","context":"""u8);
            parts.Hole(BodyHole.Map);
            parts.Raw(""","request_id":null,"priority":"""u8);
            parts.Text(WireNames.Of(goal.Priority));
            if (!enveloped)
            {
                parts.Raw(""","created_at":"""u8);
                parts.Hole(BodyHole.Created);
            }
            parts.Raw("}"u8);
        }
        else
        {
            var task = (TaskTemplate)template;
            parts.Raw("""{"task_id":"""u8);
            parts.Hole(BodyHole.Id);
            parts.Raw(""","parent_task_id":null,"worker_type":"""u8);
            parts.Text(task.WorkerType);
            parts.Raw(enveloped ? ""","input":"""u8 : ""","payload":"""u8);
            parts.Hole(BodyHole.Map);
            parts.Raw(""","model_tier":"""u8);
            parts.Text(WireNames.Of(task.ModelTier));
            parts.Raw(""","priority":"""u8);
            parts.Text(WireNames.Of(task.Priority));
            if (!enveloped)
            {
                parts.Raw(""","created_at":"""u8);
                parts.Hole(BodyHole.Created);
            }
            parts.Raw(""","request_id":null,"metadata":{"scheduled_by":"""u8);
            parts.Text(scheduledBy);
            parts.Raw(""","scheduled_for":"""u8);
            parts.Hole(BodyHole.Slot);
            parts.Raw("}}"u8);
        }
        if (enveloped)
        {
            // The slot is when the event occurred; recorded_at is when the message was made.
            parts.Raw(""","origin":"""u8);
            parts.Text(origin);
            parts.Raw(""","correlation_id":null,"causation_id":null,"occurred_at":"""u8);
            parts.Hole(BodyHole.Slot);
            parts.Raw(""","recorded_at":"""u8);
            parts.Hole(BodyHole.Created);
            parts.Raw("}"u8);
        }
    }
}
