using LoomSched.Config.Yaml;
using LoomSched.Expansion;

namespace LoomSched.Config.Validation;

/// <summary>Validates the document against the schema (README, "Config") and builds the config.</summary>
internal static class ConfigReader
{
    /// <summary>The config, or null when anything is wrong (every problem is in <paramref name="diagnostics"/>).</summary>
    public static SchedulerConfig? Read(YamlNode root, Diagnostics diagnostics, IExpansionRegistry? registry)
    {
        var fields = new FieldReader(diagnostics);
        if (root is not MapNode)
        {
            diagnostics.Error(root, "", $"the top level must be a map with name and schedules, got {FieldReader.Actual(root)}");
            return null;
        }
        var map = StrictMap.Open(root, "", "a map", Vocabulary.TopLevelKeys, diagnostics, Vocabulary.PlacementAtTop, loomIgnoresUnknown: true)!;

        string? name = null;
        if (map.Value("name") is { } nameNode)
        {
            name = Token(fields, nameNode, map.PathOf("name"));
        }
        else
        {
            map.Missing("name", "the scheduler's name; it forms the control subject {prefix}.scheduler.{name}", diagnostics);
        }

        string prefix = "loom";
        if (map.Value("subject_prefix") is { } prefixNode)
        {
            prefix = SubjectPrefix(fields, prefixNode, map.PathOf("subject_prefix")) ?? prefix;
        }
        var zone = map.Value("time_zone") is { } zoneNode ? fields.Zone(zoneNode, map.PathOf("time_zone")) : TimeZoneInfo.Utc;
        var control = map.Value("control") is { } controlNode
            ? OptionsReader.Control(controlNode, map.PathOf("control"), fields)
            : ControlActions.All;
        long? maxPending = map.Value("max_pending") is { } pendingNode
            ? fields.Integer(pendingNode, map.PathOf("max_pending"), 0, int.MaxValue, "a whole number of at least 0 (messages held while NATS is away)")
            : 10_000;
        var publish = map.Value("publish") is { } publishNode
            ? fields.Choice(publishNode, map.PathOf("publish"), "publish mode", Vocabulary.PublishModes)
            : PublishMode.Core;
        var wire = map.Value("wire") is { } wireNode
            ? fields.Choice(wireNode, map.PathOf("wire"), "wire format", Vocabulary.WireFormats)
            : WireFormat.Bare;
        if (wire is { } chosen)
        {
            WireNotes(map, prefix, chosen, diagnostics);
        }
        var coordination = map.Value("coordination") is { } coordinationNode
            ? OptionsReader.Coordination(coordinationNode, map.PathOf("coordination"), fields)
            : CoordinationOptions.Standalone;
        var catchUp = map.Value("catch_up") is { } catchUpNode
            && !OptionsReader.CatchUpIgnoredAsInLoom(catchUpNode, map.PathOf("catch_up"), diagnostics)
            ? OptionsReader.CatchUp(catchUpNode, map.PathOf("catch_up"), fields, CatchUpOptions.Default)
            : CatchUpOptions.Default;

        var runtime = map.Value("runtime_schedules") is { } runtimeNode
            ? OptionsReader.RuntimeSchedules(runtimeNode, map.PathOf("runtime_schedules"), fields)
            : null;

        var cronSeconds = map.Value("cron_seconds") is { } secondsNode
            ? fields.Choice(secondsNode, map.PathOf("cron_seconds"), "cron_seconds", Vocabulary.CronSecondsOrders)
            : null;
        var defaults = new ScheduleDefaults(prefix, zone ?? TimeZoneInfo.Utc, catchUp ?? CatchUpOptions.Default, cronSeconds)
        {
            SchedulerName = name ?? "",
        };
        var schedules = ReadSchedules(map, fields, registry, defaults);

        if (diagnostics.ErrorCount > 0 || name is null || zone is null || control is null || maxPending is null || publish is null
            || wire is null || coordination is null || catchUp is null || schedules is null
            || (runtime is null && map.Has("runtime_schedules")))
        {
            return null;
        }
        return new SchedulerConfig
        {
            Name = name,
            SubjectPrefix = prefix,
            TimeZone = zone,
            Schedules = schedules,
            AllowedControl = control.Value,
            MaxPending = (int)maxPending.Value,
            Publish = publish.Value,
            Wire = wire.Value,
            Coordination = coordination,
            CatchUp = catchUp,
            RuntimeSchedules = runtime,
            CronSecondsDefault = cronSeconds,
            SourcePath = diagnostics.File,
        };
    }

    // Each generation of consumers reads one wire only: Loom's (loom.*) the bare body, today's heddle's
    // (heddle.*) only an envelope. A prefix of one with the other's wire is likely a half-done migration.
    private static void WireNotes(StrictMap map, string prefix, WireFormat wire, Diagnostics diagnostics)
    {
        var at = map.Value("wire") ?? map.Value("subject_prefix");
        if (at is null)
        {
            return;
        }
        string path = map.Value("wire") is null ? map.PathOf("subject_prefix") : map.PathOf("wire");
        if (prefix == "heddle" && wire == WireFormat.Bare)
        {
            diagnostics.Note(at, path,
                "subject_prefix heddle with wire bare: current heddle consumers accept only enveloped messages and drop bare ones; add \"wire: envelope\" (bare suits heddle releases before the WireEnvelope)");
        }
        else if (prefix == "loom" && wire == WireFormat.Envelope)
        {
            diagnostics.Note(at, path,
                "subject_prefix loom with wire envelope: Loom's consumers read bare messages only; use \"subject_prefix: heddle\" for heddle, or \"wire: bare\" for Loom");
        }
    }

    private static readonly ScalarNode ReadEntry = new(default, "", isPlain: true, tag: null) { IsPlaceholder = true };

    private static List<ScheduleDefinition>? ReadSchedules(StrictMap map, FieldReader fields, IExpansionRegistry? registry, ScheduleDefaults defaults)
    {
        var diagnostics = fields.Diagnostics;
        if (map.Value("schedules") is not { } node)
        {
            map.Missing("schedules", "the list of schedule entries", diagnostics);
            return null;
        }
        if (node is not SequenceNode list)
        {
            diagnostics.Error(node, map.PathOf("schedules"),
                $"must be a list of schedule entries (each starting with \"- name:\"), got {FieldReader.Actual(node)}");
            return null;
        }
        if (list.Items.Count == 0)
        {
            diagnostics.Note(node, map.PathOf("schedules"), "no schedules: the daemon will only answer control requests");
        }

        var reader = new ScheduleReader(fields, registry, defaults);
        var result = new List<ScheduleDefinition>(list.Items.Count);
        // Loom keeps a list and fires every entry, whatever its name; loomsched names a schedule in status, control
        // requests and Nats-Msg-Id, so a later entry of a name already given fires as "{name}#2" (#3, …), a name no
        // entry of the file has.
        var taken = new HashSet<string>(list.Items.Select(NameOf).OfType<string>(), StringComparer.Ordinal);
        var firstByName = new Dictionary<string, (TextPosition At, int Count)>(StringComparer.Ordinal);
        bool ok = true;
        for (int i = 0; i < list.Items.Count; i++)
        {
            string path = KeyPath.Index(map.PathOf("schedules"), i);
            var entry = list.Items[i];
            // Nothing reads an entry's nodes again: let them go as their definitions are built, so that a large
            // config is not held twice over (as a tree and as definitions) at the end of its load.
            list.Items[i] = ReadEntry;
            string? identity = null;
            if (NameOf(entry) is { } name)
            {
                var nameNode = ((MapNode)entry).Find("name")!.Value;
                if (firstByName.TryGetValue(name, out var first))
                {
                    int count = first.Count;
                    do
                    {
                        identity = $"{name}#{++count}";
                    }
                    while (!taken.Add(identity));
                    firstByName[name] = (first.At, count);
                    diagnostics.Note(nameNode, KeyPath.Child(path, "name"),
                        $"duplicate schedule name \"{name}\" (the first is at line {first.At.Line}): both fire, as in Loom; this one is \"{identity}\" in status, control requests and Nats-Msg-Id (scheduled_by stays \"{name}\", as Loom writes it); give each schedule a name of its own");
                }
                else
                {
                    firstByName.Add(name, (nameNode.Start, 1));
                }
            }
            var definition = reader.Read(entry, path, identity);
            ok &= definition is not null;
            if (definition is not null)
            {
                result.Add(definition);
            }
        }
        return ok ? result : null;
    }

    /// <summary>The name an entry gives, when it is text; its checks are the entry reader's.</summary>
    private static string? NameOf(YamlNode entry) =>
        entry is MapNode map && map.Find("name") is { Value: ScalarNode node }
            && ScalarTyping.TryResolve(node, out object? value, out _) && value is string name
            ? name
            : null;

    // NATS refuses a protocol line over 4 KiB, and a SUB line carries {prefix}.scheduler.{name}: longer parts would
    // pass validation and then make every connection fail. 200 each, as for schedule names, is far from both.
    private const int MaxSubjectPartLength = 200;

    private static string? Token(FieldReader fields, YamlNode node, string path)
    {
        string? name = fields.NonBlank(node, path, "the scheduler's name");
        if (name is not null && name.Length > MaxSubjectPartLength)
        {
            fields.Diagnostics.Error(node, path,
                $"is {name.Length} characters long; the scheduler's name may have at most {MaxSubjectPartLength} (it forms the control subject {{prefix}}.scheduler.{{name}})");
            return null;
        }
        if (name is not null && !NamePatterns.IsToken(name))
        {
            if (NamePatterns.IsDottedTokens(name))
            {
                // Loom takes any name and subscribes {prefix}.scheduler.{name}: dots make that subject deeper, which
                // NATS allows; only what NATS refuses in a subject is an error.
                fields.Diagnostics.Note(node, path,
                    $"\"{name}\" has dots, so the control subject {{prefix}}.scheduler.{name} is several tokens deep (as in Loom); a name of letters, digits, _ and - keeps it one token");
                return name;
            }
            fields.Diagnostics.Error(node, path,
                $"\"{name}\" must be NATS subject tokens (letters, digits, _ and -, at most separated by single dots), since it forms the control subject {{prefix}}.scheduler.{{name}}");
            return null;
        }
        return name;
    }

    private static string? SubjectPrefix(FieldReader fields, YamlNode node, string path)
    {
        string? prefix = fields.NonBlank(node, path, "a subject prefix such as \"loom\"");
        if (prefix is not null && prefix.Length > MaxSubjectPartLength)
        {
            fields.Diagnostics.Error(node, path,
                $"is {prefix.Length} characters long; a subject prefix may have at most {MaxSubjectPartLength} (it begins every subject)");
            return null;
        }
        if (prefix is not null && !NamePatterns.IsDottedTokens(prefix))
        {
            fields.Diagnostics.Error(node, path,
                $"\"{prefix}\" is not a valid subject prefix; write dot-separated tokens of letters, digits, _ and - (no spaces or wildcards), such as \"loom\" or \"site1.loom\"");
            return null;
        }
        return prefix;
    }
}
