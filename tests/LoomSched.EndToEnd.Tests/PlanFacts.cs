using System.Xml.Linq;
using LoomSched.EndToEnd.Tests.Support;

namespace LoomSched.EndToEnd.Tests;

/// <summary><c>loomsched plan</c>: the coming hours' fires per minute, the peaks, a herd and what jitter makes of it.</summary>
public sealed class PlanFacts
{
    private static string HerdConfig()
    {
        var yaml = new System.Text.StringBuilder("name: herd\nschedules:\n");
        for (int i = 0; i < 500; i++)
        {
            yaml.Append($"  - name: nightly{i}\n    cron: \"0 0 * * *\"\n    task: {{worker_type: w}}\n");
        }
        yaml.Append("  - name: poll\n    interval_seconds: 30\n    task: {worker_type: w}\n");
        return TempConfig.Write(yaml.ToString());
    }

    [Fact]
    public async Task Plan_names_the_midnight_herd_and_what_a_minute_of_jitter_makes_of_it()
    {
        string svg = Path.Combine(Directory.CreateTempSubdirectory("loomsched-plan-").FullName, "plan.svg");

        var (code, output, error) = await Loomsched.ExecAsync("plan", HerdConfig(), "--hours", "2", "--from", "2027-03-01T23:00:30Z", "--svg", svg);

        Assert.True(code == 0, error);
        var lines = output.Split('\n');
        // From 23:00:30: poll at 23:01:00 … 00:59:30 (238 slots), the 500 nightly at midnight.
        Assert.Equal("plan of herd: 2 h from 2027-03-01T23:00:00Z, 738 fire(s)", lines[0]);
        Assert.Equal("peak minutes:", lines[1]);
        Assert.StartsWith("  2027-03-02 00:00Z       502 ########################################", lines[2], StringComparison.Ordinal);
        string busiest = Assert.Single(lines, l => l.StartsWith("busiest second: ", StringComparison.Ordinal));
        Assert.StartsWith("busiest second: 2027-03-02T00:00:00Z, 501 fire(s) at once: a thundering herd. With jitter_seconds: 60 on the schedules without jitter, the busiest second would have ", busiest, StringComparison.Ordinal);
        Assert.Contains("  03-02 00:00       620 ", output); // poll 120 and the 500
        Assert.Contains($"timeline written to {svg}", output);

        var image = XDocument.Load(svg).Root!;
        Assert.Equal("svg", image.Name.LocalName);
        XNamespace ns = "http://www.w3.org/2000/svg";
        var bars = image.Elements(ns + "rect").ToList();
        Assert.Equal(119, bars.Count); // every minute with a fire: poll's 118 minutes and midnight's
        Assert.Contains(bars, b => b.Element(ns + "title")!.Value == "2027-03-02 00:00Z: 502");
    }

    [Fact]
    public async Task Plan_of_a_quiet_horizon_says_nothing_fires_and_a_bad_hours_is_a_usage_error()
    {
        var (code, output, _) = await Loomsched.ExecAsync("plan", HerdConfig(), "--hours", "1", "--from", "2027-03-01T12:00:00Z");
        Assert.Equal(0, code);
        Assert.Contains("119 fire(s)", output); // poll, from 12:00:30 to 12:59:30

        string yearly = TempConfig.Write("name: quiet\nschedules:\n  - name: y\n    cron: \"0 0 1 1 *\"\n    task: {worker_type: w}\n");
        (code, output, _) = await Loomsched.ExecAsync("plan", yearly, "--from", "2027-03-01T12:00:00Z");
        Assert.Equal(0, code);
        Assert.Equal("plan of quiet: 24 h from 2027-03-01T12:00:00Z, 0 fire(s)\nnothing fires in that time\n", output);

        string error;
        (code, _, error) = await Loomsched.ExecAsync("plan", yearly, "--hours", "200");
        Assert.Equal(2, code);
        Assert.Equal("loomsched: error: plan: --hours must be a whole number from 1 to 168, got \"200\"\n", error);

        string folder = Path.GetDirectoryName(yearly)!;
        (code, _, error) = await Loomsched.ExecAsync("plan", yearly, "--svg", folder);
        Assert.Equal(2, code);
        Assert.Equal($"loomsched: error: plan: --svg {folder} is a directory; name the file to write\n", error);

        string nowhere = Path.Combine(folder, "no-such-folder", "plan.svg");
        (code, _, error) = await Loomsched.ExecAsync("plan", yearly, "--svg", nowhere);
        Assert.Equal(2, code);
        Assert.Equal($"loomsched: error: plan: --svg {nowhere}: cannot write it: the folder {Path.GetDirectoryName(nowhere)} does not exist\n", error);
    }
}
