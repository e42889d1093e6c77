using System.Globalization;
using System.Text;
using LoomSched.Config;

namespace LoomSched.Core.Tests.Config;

/// <summary>
/// The node limits: large configs of ordinary schedules load up to the 8 MiB file limit; a document with too many
/// nodes is refused as too large, and only one whose aliases multiply it is called an alias bomb.
/// </summary>
public sealed class LimitFacts
{
    private static string Schedules(int count, Func<int, string> entry)
    {
        var yaml = new StringBuilder("name: big\nschedules:\n", count * 100);
        for (int i = 0; i < count; i++)
        {
            yaml.Append(entry(i));
        }
        return yaml.ToString();
    }

    private static string Name(int i) => "s" + i.ToString("D6", CultureInfo.InvariantCulture);

    [Fact]
    public void Block_style_config_of_a_hundred_thousand_simple_schedules_loads()
    {
        string yaml = Schedules(100_000, i => $"  - name: {Name(i)}\n    interval_seconds: 10\n    task: {{worker_type: bench}}\n");

        var result = ConfigLoader.LoadText(yaml, "big.yaml");

        Assert.True(result.Success, string.Join("\n", result.Errors.Take(3)));
        Assert.Equal(100_000, result.Config!.Schedules.Count);
    }

    [Fact]
    public void Config_of_schedules_with_thirteen_nodes_each_loads_up_to_the_file_limit()
    {
        // 77,000 of these are a million nodes and just under 8 MiB: the file limit is reached before the node limit.
        string yaml = Schedules(77_000, i =>
            $"  - name: {Name(i)}\n    cron: \"0 3 * * *\"\n    dispatch_type: task\n    task: {{worker_type: bench, payload: {{}}}}\n");
        Assert.InRange(Encoding.UTF8.GetByteCount(yaml), 8_000_000, ConfigLoader.MaxFileBytes);

        var result = ConfigLoader.LoadText(yaml, "big.yaml");

        Assert.True(result.Success, string.Join("\n", result.Errors.Take(3)));
        Assert.Equal(77_000, result.Config!.Schedules.Count);
    }

    [Fact]
    public void Document_with_too_many_nodes_is_refused_as_too_large_with_the_limit_and_what_to_do()
    {
        // Two characters a node: about three MB for a million and a half.
        string yaml = "name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    task:\n      worker_type: w\n      payload: {k: ["
            + string.Join(",", Enumerable.Repeat("1", (int)ConfigLoader.MaxNodes)) + "]}\n";

        var error = Assert.Single(ConfigLoader.LoadText(yaml, "t.yaml").Errors);

        Assert.StartsWith("schedules[0].task.payload.k[", error.Path, StringComparison.Ordinal);
        Assert.Equal(
            "the document has more than 1,500,000 nodes (keys, values and list items) by here, the most a config may have; split its schedules between two configs, each run by its own scheduler",
            error.Message);
        Assert.DoesNotContain("alias", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Aliases_that_repeat_a_million_nodes_are_refused_as_an_alias_bomb_in_a_small_document()
    {
        // 1,000 aliases of a list of 1,000: about 4,000 nodes as written.
        string yaml = "name: t\nx: &a [" + string.Join(",", Enumerable.Repeat("1", 1000)) + "]\ny: ["
            + string.Join(",", Enumerable.Repeat("*a", 1000)) + "]\n";

        var error = Assert.Single(ConfigLoader.LoadText(yaml, "t.yaml").Errors);

        Assert.Equal(
            "aliases repeat what they point at, and here the document expands to more than 1,000,000 nodes beyond what is written (an alias bomb?); loading stops",
            error.Message);
    }

    [Fact]
    public void Node_limits_are_the_documented_ones()
    {
        Assert.Equal((1_500_000L, 1_000_000L, 8 * 1024 * 1024), (ConfigLoader.MaxNodes, ConfigLoader.MaxRepeatedNodes, ConfigLoader.MaxFileBytes));
    }

    [Fact]
    public void Value_shared_by_an_alias_is_built_once_and_its_error_reported_once()
    {
        const string yaml = """
            name: t
            schedules:
              - name: a
                interval_seconds: 60
                task: {worker_type: w, payload: &p {list: [1, 2, {k: v}]}}
              - name: b
                interval_seconds: 60
                task: {worker_type: w, payload: *p}
            """;

        var tasks = ConfigLoader.LoadText(yaml, "t.yaml").Config!.Schedules.Select(s => Assert.IsType<TaskTemplate>(s.Template)).ToList();

        Assert.Same(tasks[0].Payload, tasks[1].Payload);
        Assert.Equal(3, Assert.IsAssignableFrom<IReadOnlyList<object?>>(tasks[1].Payload["list"]).Count);

        var errors = ConfigLoader.LoadText(yaml.Replace("{k: v}", ".nan", StringComparison.Ordinal), "t.yaml").Errors;
        Assert.Equal("schedules[0].task.payload.list[2]", Assert.Single(errors).Path);
    }

    [Fact]
    public void Fingerprint_is_thirty_two_hex_digits_however_large_the_definition()
    {
        string big = string.Join(", ", Enumerable.Range(0, 10_000).Select(i => $"k{i}: {i}"));
        var result = ConfigLoader.LoadText($"name: t\nschedules:\n  - {{name: a, interval_seconds: 1, task: {{worker_type: w, payload: {{{big}}}}}}}\n", "t.yaml");

        Assert.Matches("^[0-9a-f]{32}$", Assert.Single(result.Config!.Schedules).Fingerprint);
    }
}
