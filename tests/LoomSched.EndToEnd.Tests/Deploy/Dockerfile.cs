using System.Text.Json;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests.Deploy;

/// <summary>
/// The repository's Dockerfile, read as far as the tests need it: the stages' base images and the final
/// stage's instructions (USER, ENV, ENTRYPOINT, CMD, HEALTHCHECK), so the chroot tests run what the image would.
/// </summary>
public sealed record Dockerfile(
    IReadOnlyList<string> Froms,
    IReadOnlyList<(string Instruction, string Arguments)> FinalStage,
    string User,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> Cmd,
    IReadOnlyList<string> Healthcheck)
{
    public static string PathInRepo => Path.Combine(Repo.Root, "Dockerfile");

    public static Dockerfile Load()
    {
        var instructions = Instructions(File.ReadAllText(PathInRepo));
        var froms = instructions.Where(i => i.Instruction == "FROM").Select(i => i.Arguments).ToList();
        int last = instructions.FindLastIndex(i => i.Instruction == "FROM");
        Assert.True(last >= 0, "the Dockerfile has no FROM");
        var final = instructions.Skip(last + 1).ToList();
        string? Single(string name) => final.LastOrDefault(i => i.Instruction == name).Arguments;

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (_, args) in final.Where(i => i.Instruction == "ENV"))
        {
            foreach (var pair in args.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var kv = pair.Split('=', 2);
                Assert.True(kv.Length == 2, $"ENV {args}: only the KEY=value form is read here");
                env[kv[0]] = kv[1];
            }
        }
        var health = Single("HEALTHCHECK") ?? "";
        int cmdAt = health.IndexOf("CMD ", StringComparison.Ordinal);
        return new Dockerfile(
            froms,
            final,
            Single("USER") ?? "root",
            env,
            ExecForm("ENTRYPOINT", Single("ENTRYPOINT")),
            ExecForm("CMD", Single("CMD")),
            cmdAt < 0 ? [] : ExecForm("HEALTHCHECK", health[(cmdAt + 4)..]));
    }

    /// <summary>The image's user as uid:gid, numeric.</summary>
    public (int Uid, int Gid) UserIds
    {
        get
        {
            var parts = User.Split(':');
            Assert.True(parts.Length == 2 && int.TryParse(parts[0], out _) && int.TryParse(parts[1], out _),
                $"USER {User}: expected a numeric uid:gid (a name cannot be checked by runAsNonRoot)");
            return (int.Parse(parts[0]), int.Parse(parts[1]));
        }
    }

    /// <summary>A scratch image has no shell: every command must be in exec (JSON array) form.</summary>
    private static List<string> ExecForm(string instruction, string? arguments)
    {
        if (arguments is null)
        {
            return [];
        }
        Assert.True(arguments.TrimStart().StartsWith('['), $"{instruction} {arguments}: a FROM scratch image has no shell; use the exec form [\"...\"]");
        return JsonSerializer.Deserialize<List<string>>(arguments)!;
    }

    private static List<(string Instruction, string Arguments)> Instructions(string text)
    {
        var result = new List<(string, string)>();
        var current = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (current.Length == 0 && (line.TrimStart().StartsWith('#') || line.Trim().Length == 0))
            {
                continue;
            }
            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }
            current += line;
            var trimmed = current.Trim();
            int space = trimmed.IndexOf(' ');
            result.Add(space < 0 ? (trimmed.ToUpperInvariant(), "") : (trimmed[..space].ToUpperInvariant(), trimmed[(space + 1)..].Trim()));
            current = "";
        }
        return result;
    }
}
