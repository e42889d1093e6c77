using LoomSched.Config.Yaml;

namespace LoomSched.Config.Validation;

/// <summary>The option maps shared by the top level and entries: <c>control</c>, <c>coordination</c>, <c>catch_up</c>.</summary>
internal static class OptionsReader
{
    /// <summary>The longest lease a replica may hold (one day).</summary>
    public const int MaxLeaseTtlSeconds = 86_400;

    /// <summary>The furthest back a catch-up reaches (ten years): beyond it no slot is worth sending.</summary>
    public const int MaxWindowSeconds = 315_360_000;

    public static ControlActions? Control(YamlNode node, string path, FieldReader fields)
    {
        var map = StrictMap.Open(node, path, "a map such as {actions: [status, trigger]}", Vocabulary.ControlKeys, fields.Diagnostics);
        if (map?.Value("actions") is not { } actionsNode)
        {
            return map is null ? null : ControlActions.All;
        }
        if (actionsNode is not SequenceNode list)
        {
            fields.Diagnostics.Error(actionsNode, map.PathOf("actions"),
                $"must be a list of control actions (status, trigger, pause, resume, reload, create, update, delete, get, list), got {FieldReader.Actual(actionsNode)}");
            return null;
        }
        var allowed = ControlActions.None;
        bool ok = true;
        for (int i = 0; i < list.Items.Count; i++)
        {
            var action = fields.Choice(list.Items[i], KeyPath.Index(map.PathOf("actions"), i), "control action", Vocabulary.Actions);
            ok &= action is not null;
            allowed |= action ?? ControlActions.None;
        }
        if (ok && (allowed & ControlActions.Status) == 0)
        {
            fields.Diagnostics.Note(actionsNode, map.PathOf("actions"),
                "has no status: `loomsched status`, the image's health check and the health timer get no answer and report the daemon down; add status, which changes nothing");
        }
        return ok ? allowed : null;
    }

    public static CoordinationOptions? Coordination(YamlNode node, string path, FieldReader fields)
    {
        var map = StrictMap.Open(node, path, "a map such as {mode: leader}", Vocabulary.CoordinationKeys, fields.Diagnostics);
        if (map is null)
        {
            return null;
        }
        int before = fields.Diagnostics.ErrorCount;
        var result = CoordinationOptions.Standalone;
        if (map.Value("mode") is { } mode && fields.Choice(mode, map.PathOf("mode"), "coordination mode", Vocabulary.CoordinationModes) is { } m)
        {
            result = result with { Mode = m };
        }
        if (map.Value("lease_bucket") is { } lease && Bucket(lease, map.PathOf("lease_bucket"), fields) is { } l)
        {
            result = result with { LeaseBucket = l };
        }
        if (map.Value("state_bucket") is { } state && Bucket(state, map.PathOf("state_bucket"), fields) is { } s)
        {
            result = result with { StateBucket = s };
        }
        if (map.Value("lease_ttl_seconds") is { } ttl && fields.PositiveNumber(ttl, map.PathOf("lease_ttl_seconds"), "seconds") is { } t)
        {
            // The lease is renewed every third of it and read back within a sixth: a day is already a long failover.
            if (t > MaxLeaseTtlSeconds)
            {
                fields.Diagnostics.Error(ttl, map.PathOf("lease_ttl_seconds"), $"must be at most {MaxLeaseTtlSeconds} seconds (one day): a replica that dies would hold the lease that long");
            }
            else
            {
                result = result with { LeaseTtlSeconds = t };
            }
        }
        return fields.Diagnostics.ErrorCount == before ? result : null;
    }

    /// <summary>
    /// True when <c>catch_up</c> is not a map (<c>catch_up: true</c>): Loom has no such key and ignores any value, so
    /// loomsched ignores it too (missed slots are skipped, as in Loom), with a note saying how to ask for catch-up.
    /// </summary>
    public static bool CatchUpIgnoredAsInLoom(YamlNode node, string path, Diagnostics diagnostics)
    {
        if (node is MapNode)
        {
            return false;
        }
        object? value = null;
        bool typed = node is ScalarNode scalar && ScalarTyping.TryResolve(scalar, out value, out _);
        string advice = typed && value is false
            ? "that is the default, so remove it"
            : typed && value is string word && Array.IndexOf(Vocabulary.CatchUpPolicies.Words, word) >= 0
                ? $"did you mean {{policy: {word}}}?"
                : "to send them after downtime write {policy: once} (the latest) or {policy: all}";
        diagnostics.Note(node, path,
            $"is {FieldReader.Actual(node)}, not a map such as {{policy: once}}: ignored, as Loom ignores catch_up, so missed slots are skipped; {advice}");
        return true;
    }

    /// <summary><c>catch_up</c>; keys left out take their value from <paramref name="inherited"/>.</summary>
    public static CatchUpOptions? CatchUp(YamlNode node, string path, FieldReader fields, CatchUpOptions inherited)
    {
        var map = StrictMap.Open(node, path, "a map such as {policy: once, window_seconds: 3600}", Vocabulary.CatchUpKeys, fields.Diagnostics);
        if (map is null)
        {
            return null;
        }
        int before = fields.Diagnostics.ErrorCount;
        var result = inherited;
        if (map.Value("policy") is { } policy && fields.Choice(policy, map.PathOf("policy"), "catch-up policy", Vocabulary.CatchUpPolicies) is { } p)
        {
            result = result with { Policy = p };
        }
        if (map.Value("window_seconds") is { } window && fields.PositiveNumber(window, map.PathOf("window_seconds"), "seconds") is { } w)
        {
            if (w > MaxWindowSeconds)
            {
                fields.Diagnostics.Error(window, map.PathOf("window_seconds"), $"must be at most {MaxWindowSeconds} seconds (ten years)");
            }
            else
            {
                result = result with { WindowSeconds = w };
            }
        }
        return fields.Diagnostics.ErrorCount == before ? result : null;
    }

    /// <summary><c>runtime_schedules</c>: the KV bucket that holds the schedules made at run time.</summary>
    public static RuntimeScheduleOptions? RuntimeSchedules(YamlNode node, string path, FieldReader fields)
    {
        var map = StrictMap.Open(node, path, "a map such as {bucket: loomsched_schedules}", Vocabulary.RuntimeScheduleKeys, fields.Diagnostics);
        if (map is null)
        {
            return null;
        }
        if (map.Value("bucket") is not { } bucket)
        {
            map.Missing("bucket", "the JetStream key-value bucket that holds the schedules made at run time", fields.Diagnostics);
            return null;
        }
        return Bucket(bucket, map.PathOf("bucket"), fields) is { } name ? new RuntimeScheduleOptions(name) : null;
    }

    private static string? Bucket(YamlNode node, string path, FieldReader fields)
    {
        string? name = fields.NonBlank(node, path, "a JetStream key-value bucket name");
        if (name is not null && !NamePatterns.IsToken(name))
        {
            fields.Diagnostics.Error(node, path, $"\"{name}\" is not a valid bucket name; use letters, digits, _ and - only");
            return null;
        }
        return name;
    }
}
