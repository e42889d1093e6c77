using CsCheck;
using Xunit.Abstractions;

namespace LoomSched.Tests.Scheduling;

/// <summary>
/// The engine on generated cases (<see cref="EngineGen"/>), each checked step by step by <see cref="EngineRun"/>.
/// CI runs <see cref="CiCases"/> cases from a fixed seed: up to 4 schedules and 25 steps each (intervals from 1 ms to
/// 400 days, crons with seconds, macros, leap days, never-firing ones, DST zones, one-shots; some in a window, disabled
/// or jittered; clock moves up to three years, wall clock steps back and forward, pause, resume, trigger, reload). <c>LOOMSCHED_PROPERTY_CASES=N</c> runs N cases
/// instead and <c>LOOMSCHED_PROPERTY_SEED</c> another seed; <c>LOOMSCHED_PROPERTY_YEAR=1</c> runs the simulated year
/// with 1,000 schedules.
/// </summary>
public sealed class EnginePropertyFacts(ITestOutputHelper output)
{
    private const int CiCases = 60;
    private const ulong CiSeed = 20261207;

    [Fact]
    public async Task Generated_runs_keep_every_invariant_after_every_step()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("LOOMSCHED_PROPERTY_CASES"), out int n) ? n : CiCases;
        ulong seed = ulong.TryParse(Environment.GetEnvironmentVariable("LOOMSCHED_PROPERTY_SEED"), out ulong s) ? s : CiSeed;
        var (simulated, steps) = await RunCasesAsync(EngineGen.Case(schedules: 4, steps: 25), cases, seed);
        output.WriteLine($"{cases} cases from seed {seed}: {steps} steps, {simulated.TotalDays:N0} simulated days");
        Assert.True(steps >= cases, "every case ran at least one step");
    }

    [Fact]
    public async Task A_simulated_year_with_a_thousand_schedules_keeps_every_invariant_when_asked_for()
    {
        // Opt-in (minutes): LOOMSCHED_PROPERTY_YEAR=1. Without it, a week with 50 schedules runs as a smoke test.
        bool year = Environment.GetEnvironmentVariable("LOOMSCHED_PROPERTY_YEAR") == "1";
        int schedules = year ? 1_000 : 50;
        int days = year ? 365 : 7;
        // Crons of every second are left out here: counting a day of them for a thousand schedules is the oracle's
        // cost, not the engine's (the generated runs above cover them).
        var timing = EngineGen.Timing.Where(t => t.Cron is null || !(t.Cron.StartsWith("@every_second", StringComparison.Ordinal) || t.Cron.Split(' ').Length == 6));
        // A day passes (and up to two hours more), and one day in ten an operator acts or the clock moves as well.
        var day = Gen.Select(Gen.Int[0, 120], EngineGen.Step, Gen.Int[0, 9], (minutes, step, dice) =>
        {
            var advance = new Step.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(minutes));
            return dice == 0 ? new Step[] { advance, step } : [advance];
        });
        var gen = Gen.Select(timing.Array[schedules], day.Array[days], (t, d) => new EngineCase(
            new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), t, [.. d.SelectMany(x => x)]));
        var (simulated, steps) = await RunCasesAsync(gen, 1, CiSeed);
        output.WriteLine($"{schedules} schedules: {steps} steps, {simulated.TotalDays:N0} simulated days");
        Assert.True(simulated >= TimeSpan.FromDays(days), $"simulated {simulated.TotalDays:N0} days, wanted {days}");
    }

    /// <summary>
    /// Runs <paramref name="cases"/> cases, case i from PCG(i, seed) (the same cases on every machine). A failure is
    /// shrunk by dropping steps and schedules while it still fails, and reported with both cases.
    /// </summary>
    private static async Task<(TimeSpan Simulated, int Steps)> RunCasesAsync(Gen<EngineCase> gen, int cases, ulong seed)
    {
        var simulated = TimeSpan.Zero;
        int steps = 0;
        for (int i = 0; i < cases; i++)
        {
            var pcg = new PCG((uint)i, seed);
            string caseSeed = pcg.ToString();
            var run = gen.Generate(pcg, null, out _);
            if (await FailureOf(run) is { } failure)
            {
                var (shrunk, why) = await ShrinkAsync(run, failure);
                Assert.Fail($"case {i} (PCG seed {caseSeed}) fails: {failure.Message}\n{run}\n\nshrunk to: {why.Message}\n{shrunk}");
            }
            simulated += run.Steps.OfType<Step.Advance>().Aggregate(TimeSpan.Zero, (t, a) => t + a.By);
            steps += run.Steps.Length;
        }
        return (simulated, steps);
    }

    private static async Task<Exception?> FailureOf(EngineCase run)
    {
        try
        {
            // The disposal waits for the loop: a loop that faulted throws there.
            await using var engine = new EngineRun(run);
            await engine.RunAsync();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    private static async Task<(EngineCase, Exception)> ShrinkAsync(EngineCase run, Exception failure)
    {
        int tries = 0;
        bool smaller = true;
        while (smaller && tries < 300)
        {
            smaller = false;
            for (int i = run.Steps.Length - 1; i >= 0 && tries < 300; i--, tries++)
            {
                var candidate = run with { Steps = [.. run.Steps.Where((_, k) => k != i)] };
                if (candidate.Steps.Length > 0 && await FailureOf(candidate) is { } e)
                {
                    (run, failure, smaller) = (candidate, e, true);
                }
            }
            for (int i = run.Schedules.Length - 1; i >= 0 && run.Schedules.Length > 1 && tries < 300; i--, tries++)
            {
                var candidate = run with { Schedules = [.. run.Schedules.Where((_, k) => k != i)] };
                if (await FailureOf(candidate) is { } e)
                {
                    (run, failure, smaller) = (candidate, e, true);
                }
            }
        }
        return (run, failure);
    }
}
