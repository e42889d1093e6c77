using System.Globalization;
using System.Text;
using CsCheck;
using Cronos;
using LoomSched.Config;
using LoomSched.Triggers;

namespace LoomSched.Tests.Scheduling;

/// <summary>
/// The timing of one generated schedule: an interval in seconds, a cron in a zone, or a one-shot <see cref="At"/>;
/// optionally a window (<see cref="StartAt"/>, <see cref="EndAt"/>), <see cref="Enabled"/> false, and a jitter. The
/// instants are offsets from when the schedule joins the run (its start, or the reload that adds or changes it).
/// </summary>
public sealed record Timing(
    double? IntervalSeconds, string? Cron, string Zone, TimeSpan? At = null, TimeSpan? StartAt = null, TimeSpan? EndAt = null,
    bool Enabled = true, double? JitterSeconds = null)
{
    public override string ToString()
    {
        var text = new StringBuilder(IntervalSeconds is { } s
            ? $"every {s.ToString("R", CultureInfo.InvariantCulture)} s"
            : At is { } at ? $"at +{at}" : $"cron \"{Cron}\" ({Zone})");
        text.Append(StartAt is { } start ? $" from +{start}" : "").Append(EndAt is { } end ? $" until +{end}" : "")
            .Append(Enabled ? "" : " disabled")
            .Append(JitterSeconds is { } j ? $" jitter {j.ToString("R", CultureInfo.InvariantCulture)} s" : "");
        return text.ToString();
    }
}

/// <summary>One step of a generated run: the clock moves, or an operator acts.</summary>
public abstract record Step
{
    /// <summary>Time passes (a stall when it is long: a suspended host).</summary>
    public sealed record Advance(TimeSpan By) : Step;

    /// <summary>The wall clock is set back (NTP, an operator), then the daemon is reloaded unchanged (SIGHUP).</summary>
    public sealed record SetBack(TimeSpan By) : Step;

    /// <summary>The wall clock jumps forward, then the daemon is reloaded unchanged.</summary>
    public sealed record JumpForward(TimeSpan By) : Step;

    public sealed record Pause(int Which) : Step;

    public sealed record Resume(int Which) : Step;

    public sealed record Trigger(int Which) : Step;

    /// <summary>A reload: schedule i is removed (bit i of Remove), re-timed (bit i of Change) or kept; Added join.</summary>
    public sealed record Reload(int Remove, int Change, Timing[] Changed, Timing[] Added) : Step
    {
        public override string ToString() =>
            $"Reload {{ Remove = {Remove}, Change = {Change}, Changed = [{string.Join(", ", Changed.AsEnumerable())}], Added = [{string.Join(", ", Added.AsEnumerable())}] }}";
    }
}

/// <summary>A generated run: when it starts, its schedules, and what happens.</summary>
public sealed record EngineCase(DateTimeOffset Start, Timing[] Schedules, Step[] Steps)
{
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"start {Start:O}; schedules:");
        foreach (var s in Schedules)
        {
            text.Append(" [").Append(s).Append(']');
        }
        text.Append("; steps:");
        foreach (var s in Steps)
        {
            text.Append("\n  ").Append(s);
        }
        return text.ToString();
    }
}

/// <summary>Generators of schedules, clock moves and commands, for the engine's properties.</summary>
public static class EngineGen
{
    /// <summary>Crons that matter: seconds, macros, leap days, never, DST hours, quarter and year ends.</summary>
    public static readonly string[] Crons =
    [
        "* * * * *", "*/5 * * * *", "*/10 * * * * *", "0 30 2 * * *", "@every_second", "@every_minute",
        "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "0 0 29 2 *", "0 0 30 2 *", "0 0 1 6 *",
        "30 2 * * *", "0 0 1 */3 *", "15 1,2,3 * * *", "59 23 31 12 *", "0 9 * * 1-5", "0 0 31 * *",
    ];

    /// <summary>UTC and zones with daylight saving (Lord Howe's is half an hour), and one without.</summary>
    public static readonly string[] Zones = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"];

    private const double MaxIntervalSeconds = 400 * 86_400.0;

    /// <summary>From 1 ms to 400 days, spread evenly over the orders of magnitude, fractional.</summary>
    public static readonly Gen<double> IntervalSeconds =
        Gen.Double[-3, Math.Log10(MaxIntervalSeconds)].Select(e => Math.Max(0.001, Math.Round(Math.Pow(10, e), 4)));

    /// <summary>An offset of either sign from a millisecond to about four months, spread over the orders of magnitude.</summary>
    public static readonly Gen<TimeSpan> Offset = Gen.Select(Gen.Double[-3, 7], Gen.Bool,
        (e, negative) => TimeSpan.FromMilliseconds(Math.Round(Math.Pow(10, e) * 1000) * (negative ? -1 : 1)));

    private static readonly Gen<Timing> Plain = Gen.Frequency(
        (4, IntervalSeconds.Select(s => new Timing(s, null, "UTC"))),
        (4, Gen.Select(Gen.Int[0, Crons.Length - 1], Gen.Int[0, Zones.Length - 1], (c, z) => new Timing(null, Crons[c], Zones[z]))),
        (1, Offset.Select(at => new Timing(null, null, "UTC", At: at))));

    /// <summary>No window (most), a start, an end, or both (the end at or after the start).</summary>
    private static readonly Gen<(TimeSpan? Start, TimeSpan? End)> Window = Gen.Frequency(
        (6, Gen.Const<(TimeSpan?, TimeSpan?)>((null, null))),
        (1, Offset.Select(s => ((TimeSpan?)s, (TimeSpan?)null))),
        (1, Offset.Select(e => ((TimeSpan?)null, (TimeSpan?)e))),
        (1, Gen.Select(Offset, Offset, (s, length) => ((TimeSpan?)s, (TimeSpan?)(s + length.Duration())))));

    /// <summary>
    /// Plain timings, some with a window, disabled, or jittered: an interval's jitter up to its interval (the rule), a
    /// cron's or one-shot's from a millisecond to about an hour.
    /// </summary>
    public static readonly Gen<Timing> Timing = Gen.Select(Plain, Window, Gen.Int[0, 11], Gen.Int[0, 3], Gen.Double[0, 1], Gen.Double[-3, 3.5],
        (t, window, enabledDice, jitterDice, fraction, exponent) => t with
        {
            StartAt = window.Start,
            EndAt = window.End,
            Enabled = enabledDice != 0,
            JitterSeconds = jitterDice != 0 ? null
                : t.IntervalSeconds is { } s ? Math.Round(s * fraction, 4) : Math.Round(Math.Pow(10, exponent), 3),
        });

    /// <summary>Moves of any size: a millisecond, seconds, hours, weeks, years.</summary>
    public static readonly Gen<TimeSpan> Move = Gen.Frequency(
        (3, Gen.Int[1, 999].Select(ms => TimeSpan.FromMilliseconds(ms))),
        (4, Gen.Int[1, 300].Select(s => TimeSpan.FromSeconds(s))),
        (3, Gen.Int[5, 48 * 60].Select(m => TimeSpan.FromMinutes(m))),
        (2, Gen.Int[2, 120].Select(d => TimeSpan.FromDays(d))),
        (1, Gen.Int[121, 3 * 366].Select(d => TimeSpan.FromDays(d))));

    public static readonly Gen<Step> Step = Gen.Frequency(
        (8, Move.Select(m => (Step)new Step.Advance(m))),
        (1, Gen.Frequency((1, Gen.Int[100, 999].Select(ms => TimeSpan.FromMilliseconds(ms))), (3, Move))
            .Select(m => (Step)new Step.SetBack(m))),
        (1, Move.Select(m => (Step)new Step.JumpForward(m))),
        (1, Gen.Int[0, 7].Select(i => (Step)new Step.Pause(i))),
        (1, Gen.Int[0, 7].Select(i => (Step)new Step.Resume(i))),
        (1, Gen.Int[0, 7].Select(i => (Step)new Step.Trigger(i))),
        // Each schedule is removed with a chance of 1 in 4 (two random bits both set), re-timed with 1 in 2.
        (1, Gen.Select(Gen.Int[0, 255], Gen.Int[0, 255], Gen.Int[0, 255], Timing.Array[1, 3], Timing.Array[0, 2],
            (r1, r2, c, changed, added) => (Step)new Step.Reload(r1 & r2, c, changed, added))));

    /// <summary>A run of a few schedules starting between 2020 and 2040, with up to <paramref name="steps"/> steps.</summary>
    public static Gen<EngineCase> Case(int schedules, int steps) => Gen.Select(
        Gen.Long[new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks, new DateTimeOffset(2040, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks]
            .Select(t => new DateTimeOffset(t - (t % TimeSpan.TicksPerMillisecond), TimeSpan.Zero)),
        Timing.Array[1, schedules],
        Step.Array[1, steps],
        (start, timings, s) => new EngineCase(start, timings, s));

    /// <summary>The definition the engine runs for a timing that joins the run at <paramref name="origin"/>.</summary>
    internal static ScheduleDefinition Definition(string name, Timing timing, DateTimeOffset origin)
    {
        var plain = timing.IntervalSeconds is { } s
            ? Support.TestSchedules.Interval(name, s)
            : timing.Cron is { } cron ? Support.TestSchedules.Cron(name, cron, timing.Zone) : null;
        var at = timing.At is { } a ? origin + a : (DateTimeOffset?)null;
        ITrigger trigger = plain?.Trigger ?? new OneShotTrigger(at!.Value);
        var start = timing.StartAt is { } st ? origin + st : (DateTimeOffset?)null;
        var end = timing.EndAt is { } en ? origin + en : (DateTimeOffset?)null;
        if (start is not null || end is not null)
        {
            trigger = new WindowedTrigger(trigger, start, end);
        }
        long jitterTicks = timing.JitterSeconds is { } j ? (long)Math.Round(j * TimeSpan.TicksPerSecond) : 0;
        return new ScheduleDefinition
        {
            Name = name,
            Cron = plain?.Cron,
            Interval = plain?.Interval,
            TimeZone = plain?.TimeZone ?? TimeZoneInfo.Utc,
            Trigger = trigger,
            Template = new TaskTemplate("worker", Support.TestSchedules.Map(("check", "system_status")), ModelTier.Local, Priority.Low),
            Enabled = timing.Enabled,
            At = at,
            StartAt = start,
            EndAt = end,
            Jitter = jitterTicks > 0 ? new SlotJitter("test_scheduler", name, TimeSpan.FromTicks(jitterTicks)) : null,
            Fingerprint = $"{name}:{timing}:{origin.UtcTicks}",
        };
    }
}

/// <summary>
/// What the engine must do, computed directly from Cronos and the interval grid (not from the engine's code): each
/// schedule's next slot, and how many slots came due while it was active.
/// </summary>
internal sealed class SlotOracle
{
    /// <summary>A stall longer than this many slots of a cron is counted only this far (the engine's documented cap).</summary>
    public const int CronCountCap = 100_000;

    private readonly CronExpression? _cron;
    private readonly TimeZoneInfo _zone = TimeZoneInfo.Utc;
    private readonly long _intervalTicks;
    private readonly DateTimeOffset? _at;
    private readonly DateTimeOffset? _start;
    private readonly DateTimeOffset? _end;
    private readonly SlotJitter? _jitter;

    /// <summary>The oracle of a timing that joins the run at <paramref name="anchor"/> (its offsets count from there).</summary>
    public SlotOracle(Timing timing, DateTimeOffset anchor, SlotJitter? jitter = null)
    {
        Timing = timing;
        Anchor = anchor;
        _at = timing.At is { } at ? anchor + at : null;
        _start = timing.StartAt is { } start ? anchor + start : null;
        _end = timing.EndAt is { } end ? anchor + end : null;
        _jitter = jitter;
        if (timing.IntervalSeconds is { } s)
        {
            _intervalTicks = (long)Math.Round(s * TimeSpan.TicksPerSecond);
        }
        else if (_at is null)
        {
            _cron = CronExpression.Parse(timing.Cron!, timing.Cron!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6
                ? CronFormat.IncludeSeconds : CronFormat.Standard);
            _zone = TimeZoneInfo.FindSystemTimeZoneById(timing.Zone);
        }
    }

    public Timing Timing { get; }

    /// <summary>Interval slots are Anchor + k·interval, k ≥ 1.</summary>
    public DateTimeOffset Anchor { get; private set; }

    /// <summary>The longest delay a slot's fire may have (zero without jitter).</summary>
    public TimeSpan Reach => _jitter?.Max ?? TimeSpan.Zero;

    /// <summary>A slot without a window or a one-shot: its slots can be counted by the interval's formula.</summary>
    private bool Plain => _at is null && _start is null && _end is null;

    /// <summary>When a slot fires: the slot, plus its jitter's delay.</summary>
    public DateTimeOffset FireTime(DateTimeOffset slot) => _jitter?.FireTimeOf(slot) ?? slot;

    /// <summary>
    /// The first slot strictly after <paramref name="instant"/>, or null past the calendar's end, after the window,
    /// after a one-shot's instant, or for a disabled schedule.
    /// </summary>
    public DateTimeOffset? After(DateTimeOffset instant)
    {
        if (!Timing.Enabled)
        {
            return null;
        }
        DateTimeOffset? next;
        if (_at is { } at)
        {
            next = at > instant && (_start is not { } from || at >= from) ? at : null;
        }
        else if (_start is { } start && _cron is null)
        {
            // An interval with a start: the grid start + k·interval, k ≥ 0.
            var elapsed = (System.Numerics.BigInteger)(instant - start).Ticks;
            var k = elapsed < 0 ? 0 : (elapsed / _intervalTicks) + 1;
            var ticks = start.UtcTicks + (k * _intervalTicks);
            next = ticks > DateTimeOffset.MaxValue.UtcTicks ? null : new DateTimeOffset((long)ticks, TimeSpan.Zero);
        }
        else
        {
            next = Unbounded(_start is { } s && s > instant ? s - TimeSpan.FromTicks(1) : instant);
        }
        return next is { } n && (_end is not { } end || n < end) ? n : null;
    }

    private DateTimeOffset? Unbounded(DateTimeOffset instant)
    {
        if (_cron is not null)
        {
            return _cron.GetNextOccurrence(instant, _zone, inclusive: false);
        }
        var elapsed = (System.Numerics.BigInteger)(instant - Anchor).Ticks;
        var k = elapsed < 0 ? 1 : (elapsed / _intervalTicks) + 1;
        var ticks = Anchor.UtcTicks + (k * _intervalTicks);
        return ticks > DateTimeOffset.MaxValue.UtcTicks ? null : new DateTimeOffset((long)ticks, TimeSpan.Zero);
    }

    /// <summary>Slots in [<paramref name="first"/>, <paramref name="upTo"/>]; null when a cron has more than the cap.</summary>
    public long? Count(DateTimeOffset first, DateTimeOffset upTo)
    {
        if (first > upTo)
        {
            return 0;
        }
        if (_cron is null && Plain)
        {
            return ((upTo - Anchor).Ticks / _intervalTicks) - ((first - Anchor).Ticks / _intervalTicks) + 1;
        }
        long n = 0;
        for (DateTimeOffset? t = first; t is { } v && v <= upTo; t = After(v))
        {
            if (++n > CronCountCap)
            {
                return null;
            }
        }
        return n;
    }

    /// <summary>The grid reaches back before a wall clock set back past its start (the engine keeps the grid).</summary>
    public void ExtendBackTo(DateTimeOffset now)
    {
        if (_cron is null && _at is null && _start is null && now <= Anchor)
        {
            long periods = ((Anchor - now).Ticks / _intervalTicks) + 1;
            Anchor -= TimeSpan.FromTicks(periods * _intervalTicks);
        }
    }
}
