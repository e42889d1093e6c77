using LoomSched.Config;
using LoomSched.Scheduling;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Logging;

namespace LoomSched.Tests.Scheduling;

/// <summary>
/// Runs one generated case on a fake clock and checks the engine's invariants after every step, against
/// <see cref="SlotOracle"/>: the loop never faults or stops; no slot of a schedule fires twice (until the wall clock
/// is set back and repeats them); every slot that came due while a schedule was active is fired or counted as missed
/// or skipped (a jittered slot once its fire time has come); next_slot, next_fire, enabled and done are the oracle's;
/// status agrees with what was published.
/// </summary>
internal sealed class EngineRun(EngineCase run) : EngineHarness(run.Start)
{
    private readonly RecordingLogger _log = new();
    private readonly List<Tracked> _schedules = [];
    private readonly HashSet<int> _manual = [];
    private int _checked; // messages of Port.Seen already checked
    private int _named;

    /// <summary>What the model knows of one schedule (a reload that changes it starts a new one of the same name).</summary>
    private sealed class Tracked
    {
        public Tracked(string name, Timing timing, DateTimeOffset anchor, int seenFrom)
        {
            Name = name;
            Timing = timing;
            Definition = EngineGen.Definition(name, timing, anchor);
            Oracle = new SlotOracle(timing, anchor, Definition.Jitter);
            SeenFrom = seenFrom;
        }

        public string Name { get; }
        public Timing Timing { get; }
        public ScheduleDefinition Definition { get; }
        public SlotOracle Oracle { get; }
        public DateTimeOffset? Next { get; set; }
        public bool Paused { get; set; }
        public long Due { get; set; }
        public long Manual { get; set; }

        /// <summary>A stall of a cron passed more slots than the engine counts: the sum is no longer checked.</summary>
        public bool Uncounted { get; set; }

        public int SeenFrom { get; }
        public HashSet<string> Fired { get; } = [];

        /// <summary>Messages of this schedule seen so far (scheduled and triggered).</summary>
        public long Published { get; set; }
    }

    public async Task RunAsync()
    {
        var now = Time.GetUtcNow();
        foreach (var timing in run.Schedules)
        {
            _schedules.Add(NewTracked(timing, now));
        }
        StartWith(new EngineOptions { LoggerFactory = _log }, [.. _schedules.Select(s => s.Definition)]);
        await Settle();
        Check("at start");
        for (int i = 0; i < run.Steps.Length; i++)
        {
            await ApplyAsync(run.Steps[i]);
            Check($"after step {i + 1} ({run.Steps[i]})");
        }
    }

    private Tracked NewTracked(Timing timing, DateTimeOffset now, string? name = null)
    {
        var tracked = new Tracked(name ?? $"s{_named++}", timing, now, Port.Seen.Count);
        tracked.Next = tracked.Oracle.After(now);
        return tracked;
    }

    private async Task ApplyAsync(Step step)
    {
        var engine = Engine!;
        switch (step)
        {
            case Step.Advance advance:
                Clock.Advance(advance.By);
                await Settle();
                break;
            case Step.SetBack back:
                Time.SetBack(back.By);
                await ReloadUnchangedAsync();
                if (back.By > TimeSpan.FromSeconds(1))
                {
                    Replan(Time.GetUtcNow());
                }
                break;
            case Step.JumpForward forward:
                Time.JumpForward(forward.By);
                await ReloadUnchangedAsync();
                break;
            case Step.Pause pause when Pick(pause.Which) is { } s:
                Assert.True(engine.Pause(s.Name).Ok);
                s.Paused = true;
                break;
            case Step.Resume resume when Pick(resume.Which) is { } s:
                long sleeps = engine.Sleeps;
                Assert.True(engine.Resume(s.Name).Ok);
                if (s.Paused)
                {
                    s.Paused = false;
                    s.Next = s.Oracle.After(Time.GetUtcNow());
                    await WokenAsync(sleeps);
                }
                break;
            case Step.Trigger trigger when Pick(trigger.Which) is { Timing.Enabled: false } s:
                Assert.False(engine.Trigger(s.Name).Ok, $"{s.Name} is disabled, and a trigger must not fire it");
                await Settle();
                break;
            case Step.Trigger trigger when Pick(trigger.Which) is { } s:
                int before = Port.Seen.Count;
                Assert.True(engine.Trigger(s.Name).Ok);
                await Settle();
                for (int i = before; i < Port.Seen.Count; i++)
                {
                    _manual.Add(i);
                }
                s.Manual++;
                break;
            case Step.Reload reload:
                await ReloadAsync(reload);
                break;
        }
    }

    private Tracked? Pick(int which) => _schedules.Count == 0 ? null : _schedules[which % _schedules.Count];

    /// <summary>The oracle's side of a wall clock set back: slots from the new time on come due again.</summary>
    private void Replan(DateTimeOffset now)
    {
        foreach (var s in _schedules.Where(s => !s.Paused && s.Next is not null))
        {
            s.Oracle.ExtendBackTo(now);
            if (s.Oracle.After(now - TimeSpan.FromTicks(1)) is { } again && again < s.Next)
            {
                s.Next = again;
            }
        }
        foreach (var s in _schedules)
        {
            s.Fired.Clear();
        }
    }

    private async Task ReloadUnchangedAsync()
    {
        long sleeps = Engine!.Sleeps;
        Engine.Reload(TestSchedules.Config([.. _schedules.Select(s => s.Definition)]));
        await WokenAsync(sleeps);
    }

    private async Task ReloadAsync(Step.Reload reload)
    {
        var now = Time.GetUtcNow();
        var next = new List<Tracked>();
        for (int i = 0; i < _schedules.Count; i++)
        {
            var old = _schedules[i];
            bool remove = i < 8 && (reload.Remove & (1 << i)) != 0;
            var timing = reload.Changed[i % reload.Changed.Length];
            if (remove)
            {
                continue;
            }
            if (i < 8 && (reload.Change & (1 << i)) != 0 && timing != old.Timing)
            {
                var changed = NewTracked(timing, now, old.Name);
                changed.Paused = old.Paused;
                next.Add(changed);
            }
            else
            {
                next.Add(old);
            }
        }
        foreach (var timing in reload.Added)
        {
            next.Add(NewTracked(timing, now));
        }
        _schedules.Clear();
        _schedules.AddRange(next);
        long sleeps = Engine!.Sleeps;
        Engine.Reload(TestSchedules.Config([.. _schedules.Select(s => s.Definition)]));
        await WokenAsync(sleeps);
    }

    /// <summary>Waits until the loop, woken by a command, has made its pass and sleeps again.</summary>
    private async Task WokenAsync(long sleepsBefore)
    {
        await RecordingPort.Eventually(() => Engine!.Sleeps > sleepsBefore, "the loop to wake and sleep again");
        await Settle();
    }

    private void Check(string when)
    {
        var engine = Engine!;
        var now = Time.GetUtcNow();
        Assert.False(Loop!.IsCompleted, $"{when}: the loop stopped ({Loop.Exception?.GetBaseException().Message})");

        // The oracle's due slots up to now: in slot order, each once its fire time (the slot plus its jitter's delay)
        // has come. Slots up to now minus the longest delay have all come; after them, each in turn while its own has.
        foreach (var s in _schedules.Where(s => !s.Paused))
        {
            if (s.Next is { } first && s.Oracle.FireTime(first) <= now)
            {
                var surely = now - s.Oracle.Reach;
                var next = (DateTimeOffset?)first;
                if (first <= surely)
                {
                    if (s.Oracle.Count(first, surely) is { } n)
                    {
                        s.Due += n;
                    }
                    else
                    {
                        s.Uncounted = true;
                    }
                    next = s.Oracle.After(surely);
                }
                while (next is { } v && s.Oracle.FireTime(v) <= now)
                {
                    s.Due++;
                    next = s.Oracle.After(v);
                }
                s.Next = next;
            }
        }

        // Every message once: a schedule's slots never repeat (between set-backs of the wall clock).
        var seen = Port.Seen;
        var byName = _schedules.ToDictionary(s => s.Name, StringComparer.Ordinal);
        for (; _checked < seen.Count; _checked++)
        {
            var message = seen[_checked].Message;
            Assert.True(byName.TryGetValue(message.ScheduleName, out var owner), $"{when}: a message of {message.ScheduleName}, which is not in the config");
            if (_checked >= owner.SeenFrom)
            {
                owner.Published++;
            }
            if (!_manual.Contains(_checked))
            {
                Assert.True(owner.Fired.Add(message.ScheduledFor), $"{when}: {owner.Name} fired slot {message.ScheduledFor} twice");
            }
        }

        var status = engine.Status();
        Assert.Equal(_schedules.Select(s => s.Name), status.Schedules.Select(s => s.Name));
        var statusOf = status.Schedules.ToDictionary(x => x.Name, StringComparer.Ordinal);
        foreach (var s in _schedules)
        {
            var st = statusOf[s.Name];
            string who = $"{when}: {s.Name} ({s.Timing}) at {now:O}";
            Assert.True(s.Paused == st.Paused, $"{who}: paused {st.Paused}, expected {s.Paused}");
            var expectedNext = s.Paused ? null : s.Next;
            Assert.True(expectedNext == st.NextSlot, $"{who}: next_slot {st.NextSlot:O}, the oracle says {expectedNext:O}");
            var expectedFire = expectedNext is { } slot ? s.Oracle.FireTime(slot) : (DateTimeOffset?)null;
            Assert.True(expectedFire == st.NextFire, $"{who}: next_fire {st.NextFire:O}, the oracle says {expectedFire:O}");
            Assert.True(s.Timing.Enabled == st.Enabled, $"{who}: enabled {st.Enabled}, expected {s.Timing.Enabled}");
            bool done = s.Timing.Enabled && !s.Paused && s.Next is null;
            Assert.True(done == st.Done, $"{who}: done {st.Done}, expected {done}");
            Assert.True(st.Errors == 0, $"{who}: {st.Errors} error(s): {st.LastError}");
            Assert.True(st.Skipped == 0, $"{who}: {st.Skipped} skipped");
            long published = s.Published;
            Assert.True(published == st.Dispatched && published == st.Fires,
                $"{who}: {published} message(s) published, status says {st.Dispatched} dispatched in {st.Fires} fire(s)");
            if (!s.Uncounted)
            {
                Assert.True(st.Fires - s.Manual + st.Missed == s.Due,
                    $"{who}: {s.Due} slot(s) came due, but {st.Fires - s.Manual} fired and {st.Missed} were counted missed");
            }
        }
        var errors = _log.Lines.Where(l => l.Level >= LogLevel.Error).Select(l => l.Text).ToList();
        Assert.True(errors.Count == 0, $"{when}: error lines: {string.Join(" | ", errors)}");
    }
}
