using System.Globalization;
using LoomSched.Config.Yaml;
using LoomSched.Dispatch;
using LoomSched.Expansion;
using LoomSched.Triggers;

namespace LoomSched.Config.Validation;

/// <summary>Validates one <c>schedules[i]</c> entry and builds its <see cref="ScheduleDefinition"/>.</summary>
internal sealed class ScheduleReader(FieldReader fields, IExpansionRegistry? registry, ScheduleDefaults defaults)
{
    public const int MaxNameLength = 200;

    private Diagnostics Diagnostics => fields.Diagnostics;

    /// <summary>
    /// The entry, or null when it has errors (all of them reported). <paramref name="identity"/> replaces the name
    /// the entry gives, for the second and later entries of one name.
    /// </summary>
    public ScheduleDefinition? Read(YamlNode node, string path, string? identity = null)
    {
        try
        {
            return ReadFields(node, path, identity);
        }
        catch (Exception ex)
        {
            // A fault here (a library throwing what it was not known to) refuses this entry, at its place, instead of
            // ending the command, the daemon or the watch of a run-time bucket.
            Diagnostics.Error(node, path, $"could not be read: {ex.GetType().Name}: {ex.Message} (a fault of loomsched: please report it with this entry)");
            return null;
        }
    }

    private ScheduleDefinition? ReadFields(YamlNode node, string path, string? identity)
    {
        int before = Diagnostics.ErrorCount;
        var map = StrictMap.Open(node, path, "a map (a schedule entry with name, cron or interval_seconds, and goal or task)",
            Vocabulary.ScheduleKeys, Diagnostics, Vocabulary.PlacementInSchedule, loomIgnoresUnknown: true);
        if (map is null)
        {
            return null;
        }

        string? name = ReadName(map);
        TimeZoneInfo? zone = map.Value("time_zone") is { } zoneNode ? fields.Zone(zoneNode, map.PathOf("time_zone")) : defaults.TimeZone;
        var timing = ReadTiming(map, zone ?? TimeZoneInfo.Utc);
        var activity = ReadActivity(map, zone ?? TimeZoneInfo.Utc);
        var jitter = ReadJitter(map, identity ?? name, timing.Interval);
        var template = ReadTemplate(map);
        var expansion = ReadExpansion(map);
        CatchUpOptions? catchUp = map.Value("catch_up") is { } catchUpNode
            && !OptionsReader.CatchUpIgnoredAsInLoom(catchUpNode, map.PathOf("catch_up"), Diagnostics)
            ? OptionsReader.CatchUp(catchUpNode, map.PathOf("catch_up"), fields, defaults.CatchUp)
            : null;

        if (Diagnostics.ErrorCount != before || name is null || zone is null || timing.Trigger is null || template is null
            || activity is null || !jitter.Ok)
        {
            return null;
        }
        var trigger = activity.Start is null && activity.End is null
            ? timing.Trigger
            : new WindowedTrigger(timing.Trigger, activity.Start, activity.End);
        // A cron that matches some date but none inside its window (an interval always fires at start_at).
        if (timing.Cron is not null && activity is { Start: { } from, End: { } until } && until > defaults.Now
            && timing.Trigger.NextAfter(from - TimeSpan.FromTicks(1), from) is { } first && first >= until)
        {
            Diagnostics.Note(map.Entry("end_at")!.Value, map.PathOf("end_at"),
                $"no slot of \"{timing.Cron}\" falls between start_at and end_at (the first after start_at is {LoomTime.Format(first)}): the schedule loads but never fires");
        }
        return new ScheduleDefinition
        {
            Name = identity ?? name,
            ScheduledBy = name,
            Cron = timing.Cron,
            Interval = timing.Interval,
            TimeZone = zone,
            Trigger = trigger,
            Enabled = activity.Enabled,
            At = timing.At,
            StartAt = activity.Start,
            EndAt = activity.End,
            Jitter = jitter.Jitter,
            Template = template,
            ExpandFrom = expansion.From,
            ExpandArgs = expansion.Args,
            ExpandTimeout = expansion.Timeout,
            MaxExpansion = expansion.MaxExpansion,
            CatchUp = catchUp,
            Location = new SourceLocation(Diagnostics.File, map.Node.Start.Line, map.Node.Start.Column),
            Fingerprint = Fingerprint(map, zone, timing.At, activity, catchUp ?? defaults.CatchUp),
        };
    }

    private string? ReadName(StrictMap map)
    {
        if (map.Value("name") is not { } node)
        {
            map.Missing("name", "the schedule's unique name", Diagnostics);
            return null;
        }
        string path = map.PathOf("name");
        string? name = fields.NonBlank(node, path, "the schedule's unique name");
        if (name is null)
        {
            return null;
        }
        // Characters as a reader counts them (a rocket emoji is one, though two UTF-16 units).
        int length = name.EnumerateRunes().Count();
        if (length > MaxNameLength)
        {
            Diagnostics.Error(node, path, $"is {length} characters long; a schedule name may have at most {MaxNameLength} (it travels in NATS headers)");
            return null;
        }
        if (name.Any(char.IsControl))
        {
            Diagnostics.Error(node, path, "must not contain control characters such as tabs or line breaks (it travels in NATS headers)");
            return null;
        }
        return name;
    }

    private (ITrigger? Trigger, string? Cron, TimeSpan? Interval, DateTimeOffset? At) ReadTiming(StrictMap map, TimeZoneInfo zone)
    {
        var cron = map.Entry("cron");
        var interval = map.Entry("interval_seconds");
        var at = map.Entry("at");
        MapEntry?[] given = [cron, interval, at];
        if (given.Count(e => e is not null) > 1)
        {
            var later = given.OfType<MapEntry>().MaxBy(e => (e.Key.Start.Line, e.Key.Start.Column))!;
            Diagnostics.Error(later.Key, map.PathOf(later.KeyText!),
                "a schedule has exactly one of cron, interval_seconds and at; keep one");
            return default;
        }
        if (at is not null)
        {
            return InstantReading.Read(fields, at.Value, map.PathOf("at"), zone) is { } instant
                ? (new OneShotTrigger(instant), null, null, instant)
                : default;
        }
        if (cron is not null)
        {
            string path = map.PathOf("cron");
            string? text = fields.String(cron.Value, path, "a cron expression in quotes, such as \"0 * * * *\"");
            if (text is null)
            {
                return default;
            }
            var order = map.Value("cron_seconds") is { } orderNode
                ? fields.Choice(orderNode, map.PathOf("cron_seconds"), "cron_seconds", Vocabulary.CronSecondsOrders)
                : defaults.CronSeconds;
            if (CronReading.Read(text, zone, order, cron.Value, path, Diagnostics) is not { } trigger)
            {
                return default;
            }
            if (trigger.MatchesNoDate())
            {
                Diagnostics.Note(cron.Value, path,
                    $"\"{trigger.Text}\" never fires: no date matches its day-of-month, month and day-of-week fields together; the schedule loads (as in Loom) but sends nothing");
            }
            return (trigger, trigger.Text, null, null);
        }
        if (interval is not null)
        {
            string path = map.PathOf("interval_seconds");
            double? read;
            if (interval.Value is ScalarNode flag && ScalarTyping.TryResolve(flag, out object? value, out _) && value is true)
            {
                // A Python bool is an int: Loom's check (a number above 0) passes and its timer adds True, one second.
                Diagnostics.Note(flag, path,
                    $"\"{flag.Value}\" is the boolean true, which Loom (Python) counts as 1: the schedule fires every second, as in Loom; write 1");
                read = 1;
            }
            else
            {
                read = fields.PositiveNumber(interval.Value, path, "seconds");
            }
            if (read is not { } seconds)
            {
                return default;
            }
            string written = ((ScalarNode)interval.Value).Value;
            if (seconds < IntervalBounds.MinSeconds)
            {
                Diagnostics.Error(interval.Value, path,
                    $"is {written} seconds; an interval must be at least {IntervalBounds.MinSeconds.ToString(CultureInfo.InvariantCulture)} (one millisecond): slots are written to the microsecond in the Loom-Scheduled-For and Nats-Msg-Id headers, so much closer slots would share them and a JetStream stream would drop real messages as duplicates");
                return default;
            }
            if (seconds > IntervalBounds.MaxSeconds)
            {
                Diagnostics.Error(interval.Value, path,
                    $"is {written} seconds; an interval may be at most {IntervalBounds.MaxSeconds.ToString(CultureInfo.InvariantCulture)} (100 years): longer ones put their slots beyond any date the clock can represent");
                return default;
            }
            long ticks = (long)Math.Round(seconds * TimeSpan.TicksPerSecond);
            var span = TimeSpan.FromTicks(ticks);
            return (new IntervalTrigger(span), null, span, null);
        }
        Diagnostics.Error(map.Node, map.PathOf("cron"),
            "a schedule needs cron (such as \"0 * * * *\"), interval_seconds (such as 300) or at (such as 2027-03-01T09:00:00Z); none is given");
        return default;
    }

    /// <summary>
    /// <c>enabled</c>, <c>start_at</c> and <c>end_at</c>: whether and when the schedule is active. Null when one has an
    /// error (reported).
    /// </summary>
    private Activity? ReadActivity(StrictMap map, TimeZoneInfo zone)
    {
        bool ok = true;
        bool enabled = true;
        if (map.Entry("enabled") is { } enabledEntry)
        {
            string path = map.PathOf("enabled");
            if (enabledEntry.Value is ScalarNode scalar && ScalarTyping.TryResolve(scalar, out object? value, out _) && value is bool flag)
            {
                enabled = flag;
                if (!flag)
                {
                    Diagnostics.Note(enabledEntry.Key, path,
                        "enabled: false is loomsched's own: Loom ignores this key and fires the schedule; to stop it under Loom too, remove the entry");
                }
            }
            else
            {
                Diagnostics.Error(enabledEntry.Value, path, $"must be true or false, got {FieldReader.Actual(enabledEntry.Value)}");
                ok = false;
            }
        }
        var startEntry = map.Entry("start_at");
        var endEntry = map.Entry("end_at");
        var start = startEntry is null ? null : InstantReading.Read(fields, startEntry.Value, map.PathOf("start_at"), zone);
        var end = endEntry is null ? null : InstantReading.Read(fields, endEntry.Value, map.PathOf("end_at"), zone);
        ok &= (startEntry is null || start is not null) && (endEntry is null || end is not null);
        if (start is { } s && end is { } e && e <= s)
        {
            Diagnostics.Error(endEntry!.Value, map.PathOf("end_at"), e < s
                ? $"end_at ({LoomTime.Format(e)}) comes before start_at ({LoomTime.Format(s)}); the schedule would never be active"
                : $"end_at is start_at ({LoomTime.Format(s)}), and the window ends before end_at: the schedule would never be active");
            ok = false;
        }
        else if (end is { } past && past <= defaults.Now)
        {
            Diagnostics.Note(endEntry!.Value, map.PathOf("end_at"),
                $"end_at ({LoomTime.Format(past)}) has passed: the schedule loads but never fires; remove it, or move end_at");
        }
        return ok ? new Activity(enabled, start, end) : null;
    }

    /// <summary><c>jitter_seconds</c>: 0 (or absent) for none; Ok false when it has an error (reported).</summary>
    private (bool Ok, SlotJitter? Jitter) ReadJitter(StrictMap map, string? schedule, TimeSpan? interval)
    {
        if (map.Value("jitter_seconds") is not { } node)
        {
            return (true, null);
        }
        string path = map.PathOf("jitter_seconds");
        string wanted = $"a number of seconds from 0 to {IntervalBounds.MaxSeconds.ToString(CultureInfo.InvariantCulture)} (100 years)";
        double seconds = -1;
        if (node is ScalarNode scalar && ScalarTyping.TryResolve(scalar, out object? value, out _) && value is long or double)
        {
            seconds = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        }
        if (node is ScalarNode { IsPlain: false } quoted
            && double.TryParse(quoted.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            Diagnostics.Error(node, path, $"must be {wanted}, not a string: write {quoted.Value.Trim()} without quotes");
            return (false, null);
        }
        if (!double.IsFinite(seconds) || seconds < 0 || seconds > IntervalBounds.MaxSeconds)
        {
            Diagnostics.Error(node, path, $"must be {wanted}, got {FieldReader.Actual(node)}");
            return (false, null);
        }
        long ticks = (long)Math.Round(seconds * TimeSpan.TicksPerSecond);
        if (interval is { } every && ticks > every.Ticks)
        {
            // Slots fire in order: a longer jitter would make each wait for the one before, and fire late.
            Diagnostics.Error(node, path,
                $"is {((ScalarNode)node).Value} seconds, longer than interval_seconds ({every.TotalSeconds.ToString(CultureInfo.InvariantCulture)}); a jitter may be at most the interval, or a slot would fire after the next one's time");
            return (false, null);
        }
        return ticks == 0 || schedule is null
            ? (schedule is not null, null)
            : (true, new SlotJitter(defaults.SchedulerName, schedule, TimeSpan.FromTicks(ticks)));
    }

    private sealed record Activity(bool Enabled, DateTimeOffset? Start, DateTimeOffset? End);

    /// <summary>The <c>goal:</c> or <c>task:</c> section that <c>dispatch_type</c>, or the one section given, says is published.</summary>
    private MessageTemplate? ReadTemplate(StrictMap map)
    {
        var goal = map.Entry("goal");
        var task = map.Entry("task");
        DispatchType? type = null;
        if (map.Entry("dispatch_type") is { } declared)
        {
            string path = map.PathOf("dispatch_type");
            type = fields.Choice(declared.Value, path, "dispatch_type", Vocabulary.DispatchTypes);
            if (type is null)
            {
                // Still check the sections, so their errors are reported in the same run.
                _ = goal is null ? null : ReadGoal(goal.Value, map.PathOf("goal"));
                _ = task is null ? null : ReadTask(task.Value, map.PathOf("task"));
                return null;
            }
            var (wanted, other, word, otherWord) = type == DispatchType.Goal ? (goal, task, "goal", "task") : (task, goal, "task", "goal");
            if (wanted is null)
            {
                Diagnostics.Error(declared.Value, path, other is null
                    ? $"dispatch_type is \"{word}\" but the schedule has no {word}: section; add one"
                    : $"dispatch_type is \"{word}\" but the schedule has a {otherWord}: section, not a {word}: section; make them agree");
                return null;
            }
            if (other is not null)
            {
                // Loom publishes what dispatch_type says and never reads the other section: nor does loomsched.
                Diagnostics.Note(other.Key, map.PathOf(otherWord),
                    $"dispatch_type is \"{word}\", so this {otherWord}: section is never used (as in Loom); remove it");
            }
        }
        else if (goal is not null && task is not null)
        {
            var later = goal.Key.Start.Line > task.Key.Start.Line ? goal : task;
            Diagnostics.Error(later.Key, map.PathOf(later.KeyText!),
                "a schedule has either a goal: or a task: section, not both; keep the one it should publish");
            _ = ReadGoal(goal.Value, map.PathOf("goal"));
            _ = ReadTask(task.Value, map.PathOf("task"));
            return null;
        }
        else if (goal is null && task is null)
        {
            Diagnostics.Error(map.Node, map.PathOf("goal"),
                "a schedule needs a goal: section (to publish a goal) or a task: section (to publish a task); neither is given");
            return null;
        }
        else
        {
            type = goal is not null ? DispatchType.Goal : DispatchType.Task;
        }

        return type == DispatchType.Goal ? ReadGoal(goal!.Value, map.PathOf("goal")) : ReadTask(task!.Value, map.PathOf("task"));
    }

    private GoalTemplate? ReadGoal(YamlNode node, string path)
    {
        var map = StrictMap.Open(node, path, "a map with instruction, and optionally context and priority", Vocabulary.GoalKeys, Diagnostics, loomIgnoresUnknown: true);
        if (map is null)
        {
            return null;
        }
        string? instruction = null;
        if (map.Value("instruction") is { } instructionNode)
        {
            // Loom sends a blank instruction as it is: a note, not an error.
            instruction = fields.String(instructionNode, map.PathOf("instruction"), "the instruction the goal carries");
            if (instruction is not null && string.IsNullOrWhiteSpace(instruction))
            {
                Diagnostics.Note(instructionNode, map.PathOf("instruction"), "is blank: the goal carries no instruction (Loom sends it so too)");
            }
        }
        else
        {
            map.Missing("instruction", "the instruction the goal carries", Diagnostics);
        }
        var context = map.Value("context") is { } c ? BodyMap(c, map.PathOf("context"), "goal", "context") : FreeformMap.Empty;
        var priority = map.Value("priority") is { } p ? fields.Choice(p, map.PathOf("priority"), "priority", Vocabulary.Priorities) : Priority.Normal;
        return instruction is null || context is null || priority is null ? null : new GoalTemplate(instruction, context, priority.Value);
    }

    private TaskTemplate? ReadTask(YamlNode node, string path)
    {
        var map = StrictMap.Open(node, path, "a map with worker_type, and optionally payload, model_tier and priority", Vocabulary.TaskKeys, Diagnostics, loomIgnoresUnknown: true);
        if (map is null)
        {
            return null;
        }
        string? worker = null;
        if (map.Value("worker_type") is { } workerNode)
        {
            // Loom checks only that the key is there, and its task model takes "": the task is sent, and no worker
            // takes it. A note, as for a blank instruction.
            worker = fields.String(workerNode, map.PathOf("worker_type"), "the worker type that takes the task");
            if (worker is not null && string.IsNullOrWhiteSpace(worker))
            {
                Diagnostics.Note(workerNode, map.PathOf("worker_type"),
                    "is blank: the task names no worker, so none takes it (Loom sends it so too, and its router forwards it to a subject no worker listens on)");
            }
        }
        else
        {
            map.Missing("worker_type", "the worker type that takes the task", Diagnostics);
        }
        var payload = map.Value("payload") is { } pl ? BodyMap(pl, map.PathOf("payload"), "task", "payload (its input)") : FreeformMap.Empty;
        var tier = map.Value("model_tier") is { } mt ? fields.Choice(mt, map.PathOf("model_tier"), "model_tier", Vocabulary.ModelTiers) : ModelTier.Local;
        var priority = map.Value("priority") is { } p ? fields.Choice(p, map.PathOf("priority"), "priority", Vocabulary.Priorities) : Priority.Normal;
        return worker is null || payload is null || tier is null || priority is null
            ? null
            : new TaskTemplate(worker, payload, tier.Value, priority.Value);
    }

    /// <summary>
    /// <c>context</c> or <c>payload</c>: a free-form map whose own keys must be text. PyYAML makes a number,
    /// boolean, null or date of <c>1:</c>, <c>yes:</c>, <c>~:</c>, <c>2024-01-01:</c>, and Loom's body models take
    /// only text keys there: each fire fails in Loom, so the file is refused. (Deeper maps are free: Loom sends their
    /// keys as text, as loomsched does.)
    /// </summary>
    private IReadOnlyDictionary<string, object?>? BodyMap(YamlNode node, string path, string body, string field)
    {
        var result = fields.FreeformMap(node, path);
        if (node is not MapNode map)
        {
            return result;
        }
        bool ok = true;
        foreach (var entry in map.Entries)
        {
            if (entry.Key is not ScalarNode key)
            {
                continue;
            }
            string? typed = StrictMap.NotAName(key) ?? (ScalarTyping.IsTimestamp(key) ? "a date" : null);
            if (typed is not null)
            {
                Diagnostics.Error(key, KeyPath.Child(path, key.Value),
                    $"key {key.Value} is {typed} to PyYAML, and Loom's {body} takes only text keys in {field}, so each of its fires would fail; quote the key: \"{key.Value}\"");
                ok = false;
            }
        }
        return ok ? result : null;
    }

    private (string? From, IReadOnlyDictionary<string, object?> Args, TimeSpan Timeout, int MaxExpansion) ReadExpansion(StrictMap map)
    {
        var fromEntry = map.Entry("expand_from");
        var argsEntry = map.Entry("expand_args");
        string? from = fromEntry is null ? null : fields.NonBlank(fromEntry.Value, map.PathOf("expand_from"), "the name of an expansion function");
        IReadOnlyDictionary<string, object?>? args = FreeformMap.Empty;
        if (argsEntry is not null)
        {
            args = fields.FreeformMap(argsEntry.Value, map.PathOf("expand_args"));
            if (fromEntry is null)
            {
                Diagnostics.Error(argsEntry.Key, map.PathOf("expand_args"),
                    "expand_args is given without expand_from; name the expansion function it is for, or remove it");
            }
        }
        if (from is not null && registry is not null)
        {
            CheckExpansion(from, fromEntry!.Value, args, argsEntry, map);
        }

        var timeout = TimeSpan.FromSeconds(30);
        if (map.Value("expand_timeout_seconds") is { } t && fields.PositiveNumber(t, map.PathOf("expand_timeout_seconds"), "seconds") is { } seconds)
        {
            if (seconds > TimeSpan.FromDays(1).TotalSeconds)
            {
                Diagnostics.Error(t, map.PathOf("expand_timeout_seconds"), "must be at most 86400 seconds (one day)");
            }
            else
            {
                timeout = TimeSpan.FromSeconds(seconds);
            }
        }
        int maxExpansion = 100_000;
        if (map.Value("max_expansion") is { } m
            && fields.Integer(m, map.PathOf("max_expansion"), 1, int.MaxValue, "a whole number greater than 0 (messages per fire)") is { } max)
        {
            maxExpansion = (int)max;
        }
        return (from, args ?? FreeformMap.Empty, timeout, maxExpansion);
    }

    private void CheckExpansion(string name, YamlNode fromNode, IReadOnlyDictionary<string, object?>? args, MapEntry? argsEntry, StrictMap map)
    {
        string path = map.PathOf("expand_from");
        if (!registry!.TryGet(name, out var function))
        {
            string? near = DidYouMean.Nearest(name, registry.Names);
            var known = registry.Names.Take(8).ToList();
            string message = near is not null
                ? $"unknown expansion function \"{name}\"; did you mean \"{near}\"?"
                : known.Count == 0
                    ? $"unknown expansion function \"{name}\"; no expansion function is registered"
                    : $"unknown expansion function \"{name}\"; registered: {string.Join(", ", known)}{(registry.Names.Count > known.Count ? $" ({registry.Names.Count} in all)" : "")}";
            Diagnostics.Error(fromNode, path, message);
            return;
        }
        if (function.ValidateArgs is null || args is null)
        {
            return;
        }

        string argsPath = map.PathOf("expand_args");
        YamlNode argsAt = argsEntry?.Value ?? map.Node;
        List<ExpansionArgError> problems;
        try
        {
            problems = [.. function.ValidateArgs(args)];
        }
#pragma warning disable CA1031 // A validator is project code run on user input; its failure is reported, not thrown.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Diagnostics.Error(argsAt, argsPath, $"the argument check of \"{name}\" ({function.Origin}) failed: {ex.Message}");
            return;
        }
        foreach (var problem in problems)
        {
            // A key's problem points at the key's value (a note about the key itself, at the key).
            var entry = problem.Key is null ? null : (argsEntry?.Value as MapNode)?.Find(problem.Key);
            YamlNode at = (problem.IsNote ? entry?.Key : entry?.Value) ?? argsAt;
            string keyPath = problem.Key is null ? argsPath : KeyPath.Child(argsPath, problem.Key);
            if (problem.IsNote)
            {
                Diagnostics.Note(at, keyPath, problem.Message);
            }
            else
            {
                Diagnostics.Error(at, keyPath, problem.Message);
            }
        }
    }

    /// <summary>
    /// The entry's whole definition as written (aliases and merges resolved) plus what it inherits and uses: equal
    /// texts mean a reload may keep the schedule's slots. A top-level default a schedule does not read is left out, so
    /// that changing it does not restart the schedule.
    /// </summary>
    private string Fingerprint(StrictMap map, TimeZoneInfo zone, DateTimeOffset? at, Activity activity, CatchUpOptions catchUp)
    {
        var sb = new CanonicalHash();
        sb.Append("prefix=").Append(defaults.SubjectPrefix)
          .Append(";catch_up=").Append(catchUp.Policy.ToString()).Append('/').Append(catchUp.WindowSeconds.ToString("R", CultureInfo.InvariantCulture));
        if (map.Value("cron") is { } cron)
        {
            // A cron's slots are read in its zone; the default seconds order only reaches a six-field one without its own.
            sb.Append(";zone=").Append(zone.Id);
            if (map.Value("cron_seconds") is null && (cron is not ScalarNode text || CronReading.HasSixFields(text.Value)))
            {
                sb.Append(";cron_seconds=").Append(defaults.CronSeconds?.ToString() ?? "");
            }
        }
        // An instant written without an offset is read in the zone: the instant it became tells whether that changed.
        sb.Append(";at=").Append(Instant(at))
          .Append(";start_at=").Append(Instant(activity.Start))
          .Append(";end_at=").Append(Instant(activity.End))
          .Append(';');
        CanonicalText.Write(map.Node, sb);
        return sb.ToString();
    }

    private static string Instant(DateTimeOffset? instant) =>
        instant is { } t ? t.UtcTicks.ToString(CultureInfo.InvariantCulture) : "";
}

/// <summary>What entries inherit from the top level.</summary>
internal sealed record ScheduleDefaults(
    string SubjectPrefix, TimeZoneInfo TimeZone, CatchUpOptions CatchUp, CronSeconds? CronSeconds = null)
{
    /// <summary>The scheduler's name (seeds <c>jitter_seconds</c>).</summary>
    public string SchedulerName { get; init; } = "";

    /// <summary>When the file is read: an <c>end_at</c> before it is noted.</summary>
    public DateTimeOffset Now { get; init; } = DateTimeOffset.UtcNow;
}
