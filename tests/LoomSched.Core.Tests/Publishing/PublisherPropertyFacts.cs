using System.Threading.Channels;
using CsCheck;
using LoomSched.Dispatch;
using LoomSched.Publishing;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace LoomSched.Tests.Publishing;

/// <summary>
/// The buffer and the publisher on generated scripts: a fire hands over messages (some over the server's size limit)
/// while the link answers confirmations yes or no, in any order, breaks sends, goes away and comes back, and the clock
/// moves. Whatever the script and the timing, once the link is back and answers yes, every message is published once
/// or counted as dropped or refused, in order, and never more than <c>max_pending</c> wait.
/// CI runs <see cref="CiCases"/> cases from a fixed seed; <c>LOOMSCHED_PROPERTY_CASES</c> and
/// <c>LOOMSCHED_PROPERTY_SEED</c> run others.
/// </summary>
public sealed class PublisherPropertyFacts(ITestOutputHelper output)
{
    private const int CiCases = 40;
    private const ulong CiSeed = 20261207;
    private const string TooLarge = "too-large";

    /// <summary>One step of a script.</summary>
    private abstract record Step
    {
        /// <summary>The fire hands over <paramref name="Count"/> messages; every <paramref name="RefusedEvery"/>th is too large (0: none).</summary>
        public sealed record HandOver(int Count, int RefusedEvery) : Step;

        /// <summary>The link answers the <paramref name="Which"/>th (modulo) confirmation still open.</summary>
        public sealed record Answer(int Which, bool Confirmed) : Step;

        /// <summary>The next send breaks off under the write.</summary>
        public sealed record BreakSend : Step;

        /// <summary>The link goes away or comes back.</summary>
        public sealed record Link(bool Open) : Step;

        /// <summary>The clock moves.</summary>
        public sealed record Tick(int Milliseconds) : Step;
    }

    private sealed record Script(int MaxPending, Step[] Steps)
    {
        public override string ToString() => $"max_pending {MaxPending}: {string.Join(", ", Steps.Select(s => s.ToString()))}";
    }

    private static readonly Gen<Step> Steps = Gen.Frequency(
        (3, Gen.Select(Gen.Int[1, 600], Gen.Int[0, 4].Select(k => k switch { 3 => 7, 4 => 50, _ => 0 }), (n, every) => (Step)new Step.HandOver(n, every))),
        (5, Gen.Select(Gen.Int[0, 20], Gen.Int[0, 4], (which, no) => (Step)new Step.Answer(which, no != 0))),
        (1, Gen.Const((Step)new Step.BreakSend())),
        (1, Gen.Bool.Select(open => (Step)new Step.Link(open))),
        (2, Gen.Int[1, 1500].Select(ms => (Step)new Step.Tick(ms))));

    private static readonly Gen<Script> Scripts = Gen.Select(Gen.Int[1, 700], Steps.Array[1, 30], (max, steps) => new Script(max, steps));

    [Fact]
    public async Task Generated_scripts_publish_every_message_once_in_order_or_count_it_as_dropped_or_refused()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("LOOMSCHED_PROPERTY_CASES"), out int n) ? n : CiCases;
        ulong seed = ulong.TryParse(Environment.GetEnvironmentVariable("LOOMSCHED_PROPERTY_SEED"), out ulong s) ? s : CiSeed;
        long messages = 0, resent = 0, dropped = 0;
        for (int i = 0; i < cases; i++)
        {
            var pcg = new PCG((uint)i, seed);
            string caseSeed = pcg.ToString();
            var script = Scripts.Generate(pcg, null, out _);
            var (outcome, failure) = await RunAsync(script);
            if (failure is not null)
            {
                var (shrunk, why) = await ShrinkAsync(script, failure);
                Assert.Fail($"case {i} (PCG seed {caseSeed}) fails: {failure.Message}\n{script}\n\nshrunk to: {why.Message}\n{shrunk}");
            }
            (messages, resent, dropped) = (messages + outcome.Handed, resent + outcome.Resent, dropped + outcome.Dropped);
        }
        output.WriteLine($"{cases} cases from seed {seed}: {messages:N0} messages, {resent:N0} resent, {dropped:N0} dropped");
        Assert.True(messages > 0 && resent > 0 && dropped > 0, "the cases sent messages, resent some and dropped some");
    }

    private sealed record Outcome(long Handed, long Resent, long Dropped);

    private static async Task<(Outcome, Exception?)> RunAsync(Script script)
    {
        try
        {
            return (await new Run(script).PlayAsync(), null);
        }
        catch (Exception ex)
        {
            return (new Outcome(0, 0, 0), ex);
        }
    }

    private static async Task<(Script, Exception)> ShrinkAsync(Script script, Exception failure)
    {
        bool smaller = true;
        for (int tries = 0; smaller && tries < 60;)
        {
            smaller = false;
            for (int i = script.Steps.Length - 1; i >= 0 && tries < 60; i--, tries++)
            {
                var candidate = script with { Steps = [.. script.Steps.Where((_, k) => k != i)] };
                if (candidate.Steps.Length > 0 && (await RunAsync(candidate)).Item2 is { } e)
                {
                    (script, failure, smaller) = (candidate, e, true);
                }
            }
        }
        return (script, failure);
    }

    /// <summary>One script played against a buffer and its publisher on a fake link and clock.</summary>
    private sealed class Run
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

        private readonly Script _script;
        private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-12-07T06:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        private readonly PublishBuffer _buffer;
        private readonly FakeTransport _link;
        private readonly Channel<DispatchMessage[]> _handOvers = Channel.CreateUnbounded<DispatchMessage[]>();
        private readonly List<DispatchMessage> _handed = [];
        private bool _everAway;

        public Run(Script script)
        {
            _script = script;
            _buffer = new PublishBuffer(script.MaxPending, () => _link!.IsOpen, _clock, new RecordingLogger());
            _link = new FakeTransport(_buffer) { RefusesWhileSending = m => m.ScheduleName == TooLarge };
        }

        public async Task<Outcome> PlayAsync()
        {
            using var stop = new CancellationTokenSource();
            var publisher = Task.Run(() => new Publisher(_buffer, _link, _clock, new RecordingLogger()).RunAsync(stop.Token));
            // One fire hands its messages over in order, each hand-over after the last was taken (or dropped).
            var fire = Task.Run(async () =>
            {
                await foreach (var messages in _handOvers.Reader.ReadAllAsync())
                {
                    Assert.Equal(messages.Length, await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages), default));
                }
            });
            try
            {
                foreach (var step in _script.Steps)
                {
                    Apply(step);
                    await Task.Delay(1);
                    Assert.InRange(_buffer.Pending, 0, _buffer.Capacity);
                    Assert.False(publisher.IsCompleted, "the publisher ended while the buffer was open");
                }
                _handOvers.Writer.Complete();
                await DrainAsync(fire);
                Check();
                _buffer.Close();
                await publisher.WaitAsync(Patience);
                return new Outcome(_handed.Count, _buffer.Resent, _buffer.Dropped);
            }
            finally
            {
                _handOvers.Writer.TryComplete();
                await stop.CancelAsync();
                _link.IsOpen = true;
                _clock.Advance(TimeSpan.FromSeconds(1));
                await Task.WhenAll(publisher, fire).WaitAsync(Patience).ContinueWith(_ => { }, TaskScheduler.Default);
                _buffer.Dispose();
            }
        }

        private void Apply(Step step)
        {
            switch (step)
            {
                case Step.HandOver(var count, var refusedEvery):
                    var messages = Enumerable.Range(_handed.Count, count).Select(i => PublishBufferFacts.Message(i, refusedEvery > 0 && i % refusedEvery == 0 ? TooLarge : "nightly")).ToArray();
                    _handed.AddRange(messages);
                    _handOvers.Writer.TryWrite(messages);
                    break;
                case Step.Answer(var which, var confirmed):
                    var open = _link.Confirmations.Where(c => !c.Confirm.Task.IsCompleted).ToList();
                    if (open.Count > 0)
                    {
                        open[which % open.Count].Confirm.TrySetResult(confirmed);
                    }
                    break;
                case Step.BreakSend:
                    _link.BreakNextSend();
                    break;
                case Step.Link(var isOpen):
                    _link.IsOpen = isOpen;
                    _everAway |= !isOpen;
                    break;
                case Step.Tick(var ms):
                    _clock.Advance(TimeSpan.FromMilliseconds(ms));
                    break;
            }
        }

        /// <summary>The link comes back for good and answers yes to everything, until every message is settled.</summary>
        private async Task DrainAsync(Task fire)
        {
            _link.IsOpen = true;
            var until = DateTime.UtcNow + Patience;
            while (!(fire.IsCompleted && _buffer.Pending == 0))
            {
                Assert.True(DateTime.UtcNow < until,
                    $"not settled: {_buffer.Pending} pending, fire {(fire.IsCompleted ? "done" : "handing over")}, {_link.Sent.Count} sends");
                foreach (var (_, confirm) in _link.Confirmations)
                {
                    confirm.TrySetResult(true);
                }
                _clock.Advance(TimeSpan.FromMilliseconds(50));
                await Task.Delay(2);
            }
            await fire; // its own assertions
            Assert.True(_buffer.WhenSentAsync(default).IsCompletedSuccessfully, "nothing is left to confirm");
        }

        private void Check()
        {
            var sends = _link.Sent.ToArray();
            var sent = sends.SelectMany(s => s.Messages).ToList();
            var distinct = sent.Distinct().ToList();
            var tooLarge = _handed.Where(m => m.ScheduleName == TooLarge).ToHashSet();

            // Every message is counted once: published, dropped or refused.
            Assert.Equal(_handed.Count, _buffer.Published + _buffer.Dropped + _buffer.PublishErrors);
            Assert.Equal(distinct.Count, _buffer.Published);
            Assert.DoesNotContain(sent, tooLarge.Contains);
            Assert.InRange(_buffer.PublishErrors, 0, tooLarge.Count);
            Assert.Equal(_handed.Count - distinct.Count - _buffer.PublishErrors, _buffer.Dropped);
            if (!_everAway)
            {
                Assert.Equal(0, _buffer.Dropped); // the link up, a full buffer slows the fire down instead
            }

            // In order: each message first goes out after every earlier one that goes out, and a session never goes back.
            var place = _handed.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
            var firsts = distinct.Select(m => place[m]).ToList();
            Assert.Equal(firsts.Order(), firsts);
            foreach (var session in sends.GroupBy(s => s.Session))
            {
                var order = session.SelectMany(s => s.Messages).Select(m => place[m]).ToList();
                Assert.True(order.Zip(order.Skip(1)).All(p => p.First < p.Second), $"session {session.Key} went back: {string.Join(",", order)}");
            }
            // A message goes again only when it was not confirmed, and then counts as resent.
            Assert.InRange(sent.Count - distinct.Count, 0, _buffer.Resent);
        }
    }
}
