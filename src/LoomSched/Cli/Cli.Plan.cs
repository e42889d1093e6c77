using System.Globalization;
using System.Text;
using LoomSched.Config;
using LoomSched.Dispatch;
using LoomSched.Scheduling;

namespace LoomSched.Daemon;

internal static partial class Cli
{
    /// <summary>The jitter <c>plan</c> tries on a thundering herd: spread over a minute.</summary>
    private static readonly TimeSpan WhatIfJitter = TimeSpan.FromSeconds(60);

    private static int Plan(IEnumerable<string> args)
    {
        var parsed = CliArgs.Parse("plan", args, "--hours", "--from", "--svg");
        if (parsed.Positionals.Count != 1)
        {
            throw new UsageException("plan: name one config file, e.g. loomsched plan config/scheduler.example.yaml");
        }
        int hours = parsed.GetInt("plan", "--hours", 24, 1, 168);
        var from = parsed.Get("--from") is { } text ? ParseFrom("plan", text) : TimeProvider.System.GetUtcNow();
        if (parsed.Get("--svg") is "")
        {
            throw new UsageException("plan: --svg is empty; name the file to write, e.g. --svg plan.svg");
        }
        var config = LoadOrReport(ConfigPath("plan", parsed.Positionals[0]));
        if (config is null)
        {
            return 2;
        }
        var plan = FirePlan.Of(config, from, TimeSpan.FromHours(hours));
        var out_ = new StringBuilder();
        out_.Append(CultureInfo.InvariantCulture,
            $"plan of {UserText.Escape(config.Name)}: {hours} h from {LoomTime.Format(plan.From)}, {plan.Fires:N0} fire(s)");
        int expanding = plan.ExpandingPerMinute.Sum();
        out_.Append(expanding == 0 ? "\n" : string.Create(CultureInfo.InvariantCulture,
            $" ({expanding:N0} of them expand: each sends the messages its function returns)\n"));
        foreach (var name in plan.Capped)
        {
            out_.Append(CultureInfo.InvariantCulture, $"  {UserText.Escape(name)}: more than {FirePlan.SlotCap:N0} slots; counted up to there\n");
        }
        var peaks = plan.PeakMinutes(5);
        if (peaks.Count > 0)
        {
            out_.Append("peak minutes:\n");
            foreach (var (at, fires) in peaks)
            {
                out_.Append(CultureInfo.InvariantCulture, $"  {at:yyyy-MM-dd HH:mm}Z {fires,9:N0} {Bar(fires, peaks[0].Fires, 40)}\n");
            }
            var (second, inSecond) = plan.BusiestSecond;
            out_.Append(CultureInfo.InvariantCulture, $"busiest second: {LoomTime.Format(second)}, {inSecond:N0} fire(s) at once");
            if (inSecond >= 100)
            {
                var spread = FirePlan.Of(config, from, TimeSpan.FromHours(hours), WhatIfJitter);
                out_.Append(CultureInfo.InvariantCulture,
                    $": a thundering herd. With jitter_seconds: {WhatIfJitter.TotalSeconds:0} on the schedules without jitter, the busiest second would have {spread.BusiestSecond.Fires:N0} and the busiest minute {spread.PeakMinutes(1)[0].Fires:N0}");
            }
            out_.Append('\n');
            out_.Append("per hour from the start (fires; the busiest minute in it):\n");
            int hoursShown = plan.FiresPerMinute.Length / 60 + (plan.FiresPerMinute.Length % 60 == 0 ? 0 : 1);
            var perHour = Enumerable.Range(0, hoursShown)
                .Select(h => plan.FiresPerMinute.Skip(h * 60).Take(60).ToArray()).ToList();
            int most = perHour.Max(m => m.Sum());
            for (int h = 0; h < perHour.Count; h++)
            {
                out_.Append(CultureInfo.InvariantCulture,
                    $"  {plan.From.AddHours(h):MM-dd HH:mm} {perHour[h].Sum(),9:N0} {Bar(perHour[h].Sum(), most, 40),-40} {perHour[h].Max():N0}/min\n");
            }
        }
        else
        {
            out_.Append("nothing fires in that time\n");
        }
        if (parsed.Get("--svg") is { } svg)
        {
            if (Directory.Exists(svg))
            {
                throw new UsageException($"plan: --svg {svg} is a directory; name the file to write");
            }
            try
            {
                File.WriteAllText(svg, Svg(config.Name, plan));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                string why = ex is DirectoryNotFoundException ? $"the folder {Path.GetDirectoryName(Path.GetFullPath(svg))} does not exist" : ex.Message;
                throw new UsageException($"plan: --svg {svg}: cannot write it: {why}");
            }
            out_.Append(CultureInfo.InvariantCulture, $"timeline written to {UserText.Escape(svg)}\n");
        }
        Console.Out.Write(out_.ToString());
        return 0;
    }

    private static string Bar(int value, int most, int width) =>
        most == 0 || value == 0 ? "" : new string('#', Math.Max(1, (int)Math.Round((double)value / most * width)));

    /// <summary>A timeline: a bar per minute, an hour mark every hour, the five peak minutes named.</summary>
    private static string Svg(string scheduler, FirePlan plan)
    {
        const int Height = 200, Top = 30, Left = 50, Bottom = 30;
        int minutes = plan.FiresPerMinute.Length;
        int width = Left + minutes + 20;
        int most = Math.Max(1, plan.FiresPerMinute.Max());
        var svg = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        svg.Append(c, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{Top + Height + Bottom}" font-family="sans-serif" font-size="11">""").Append('\n');
        svg.Append(c, $"""<title>loomsched plan of {Xml(scheduler)} from {LoomTime.Format(plan.From)}</title>""").Append('\n');
        svg.Append(c, $"""<text x="{Left}" y="18">fires per minute, {Xml(scheduler)}, from {LoomTime.Format(plan.From)} ({plan.Fires:N0} in all; most {most:N0})</text>""").Append('\n');
        svg.Append(c, $"""<line x1="{Left}" y1="{Top + Height}" x2="{Left + minutes}" y2="{Top + Height}" stroke="#999"/>""").Append('\n');
        for (int m = 0; m < minutes; m++)
        {
            int fires = plan.FiresPerMinute[m];
            if (fires > 0)
            {
                double h = Math.Max(1, (double)fires / most * Height);
                string colour = plan.ExpandingPerMinute[m] > 0 ? "#d9822b" : "#2b6cb0";
                svg.Append(c, $"""<rect x="{Left + m}" y="{Top + Height - h:0.#}" width="1" height="{h:0.#}" fill="{colour}"><title>{plan.From.AddMinutes(m):yyyy-MM-dd HH:mm}Z: {fires:N0}</title></rect>""").Append('\n');
            }
            if (m % 60 == 0)
            {
                svg.Append(c, $"""<text x="{Left + m}" y="{Top + Height + 14}" text-anchor="middle" fill="#555">{plan.From.AddMinutes(m):HH}h</text>""").Append('\n');
            }
        }
        foreach (var (at, fires) in plan.PeakMinutes(5))
        {
            int m = (int)(at - plan.From).TotalMinutes;
            svg.Append(c, $"""<text x="{Left + m + 3}" y="{Top + Height - (double)fires / most * Height + 10:0.#}" fill="#b00">{at:HH:mm} {fires:N0}</text>""").Append('\n');
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Xml(string text) => System.Security.SecurityElement.Escape(UserText.Escape(text));
}
