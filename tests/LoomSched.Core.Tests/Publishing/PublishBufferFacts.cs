using System.Text;
using LoomSched.Dispatch;
using LoomSched.Publishing;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace LoomSched.Tests.Publishing;

/// <summary>
/// The buffer between the engine and the wire: order, <c>max_pending</c>, and the counts of what became of each
/// message. The publisher's side (take, settle) is driven by hand here.
/// </summary>
public sealed class PublishBufferFacts : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-12-07T06:00:00Z"));
    private readonly RecordingLogger _log = new();
    private volatile bool _open = true;
    private PublishBuffer? _buffer;

    public void Dispose() => _buffer?.Dispose();

    [Fact]
    public async Task Messages_are_given_out_in_batches_of_at_most_1024_in_the_order_they_were_accepted()
    {
        Assert.Equal(1024, PublishBuffer.BatchSize);
        var buffer = Buffer(maxPending: 4000);
        var messages = Messages(2400);

        await buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages, 0, 100), default);
        await buffer.AcceptAsync(messages[100], default);
        await buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages, 101, 2299), default);

        var batches = TakeAll(buffer);
        Assert.Equal([1024, 1024, 352], batches.Select(b => b.Messages.Count));
        Assert.Equal([1024L, 2048L, 2400L], batches.Select(b => b.Through));
        Assert.Equal(messages, batches.SelectMany(b => b.Messages));
        Assert.Null(buffer.TakeBatch());
    }

    [Fact]
    public async Task A_message_is_pending_until_its_batch_settles_and_then_counts_as_published()
    {
        var buffer = Buffer(maxPending: 10);
        await buffer.AcceptAsync(new ArraySegment<DispatchMessage>(Messages(3)), default);
        var batch = buffer.TakeBatch()!;

        Assert.Equal(3, buffer.Pending);
        Assert.Equal(0, buffer.Published);

        buffer.Settle(batch);

        Assert.Equal(0, buffer.Pending);
        Assert.Equal(3, buffer.Published);
        Assert.Equal(0, buffer.PublishErrors);
    }

    [Fact]
    public async Task While_the_link_is_away_what_does_not_fit_in_max_pending_is_dropped_counted_and_logged_at_powers_of_two()
    {
        _open = false;
        var buffer = Buffer(maxPending: 2);

        var messages = Messages(7);
        int taken = await buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages), default);

        Assert.Equal(7, taken); // taken in: accepted or dropped, none left for the caller
        Assert.Equal(2, buffer.Pending);
        Assert.Equal(5, buffer.Dropped);
        // Marked, for the fire to count them for its schedule.
        Assert.Equal([false, false, true, true, true, true, true], messages.Select(m => m.Dropped));
        var dropLines = _log.Lines.Where(l => l.EventId == 20).Select(l => l.Text).ToList();
        Assert.Equal(3, dropLines.Count); // the 1st, 2nd and 4th drop
        Assert.EndsWith("dropped so far: 4", dropLines[^1]);
        Assert.Contains("buffer of 2 messages (max_pending) is full", dropLines[0]);
        Assert.Equal(2, TakeAll(buffer).Sum(b => b.Messages.Count));
    }

    [Fact]
    public async Task While_the_link_is_up_a_full_buffer_makes_the_fire_wait_until_a_confirmation_frees_room()
    {
        var buffer = Buffer(maxPending: 2);
        var messages = Messages(3);
        await buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages, 0, 2), default);
        var first = buffer.TakeBatch()!;

        var third = buffer.AcceptAsync(messages[2], default).AsTask();
        _clock.Advance(TimeSpan.FromSeconds(1)); // the wait looks again now and then, and waits on while the link is up
        await Task.Delay(50);
        Assert.False(third.IsCompleted);

        buffer.Settle(first);

        await third.WaitAsync(Patience);
        Assert.Equal(0, buffer.Dropped);
        Assert.Equal(1, buffer.Pending);
        Assert.Same(messages[2], Assert.Single(buffer.TakeBatch()!.Messages));
    }

    [Fact]
    public async Task A_fire_waiting_for_room_drops_its_message_once_the_link_goes_away()
    {
        var buffer = Buffer(maxPending: 1);
        var messages = Messages(2);
        await buffer.AcceptAsync(messages[0], default);
        var second = buffer.AcceptAsync(messages[1], default).AsTask();

        _open = false;
        await WhenWaiting(() => second.IsCompleted, () => _clock.Advance(TimeSpan.FromMilliseconds(100)));

        await second;
        Assert.Equal(1, buffer.Dropped);
        Assert.Equal(1, buffer.Pending);
        Assert.Equal([false, true], messages.Select(m => m.Dropped));
    }

    [Fact]
    public async Task Messages_refused_for_good_count_as_publish_errors_not_published_and_free_their_place()
    {
        var buffer = Buffer(maxPending: 4);
        var messages = Messages(4);
        await buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages), default);
        var batch = buffer.TakeBatch()!;

        buffer.CountRefused();
        batch.Refuse(messages[1], denied: false);
        Assert.Equal(3, buffer.Pending);
        buffer.Settle(batch);

        Assert.Equal(3, buffer.Published);
        Assert.Equal(1, buffer.PublishErrors);
        Assert.Equal(0, buffer.Pending);
    }

    [Fact]
    public async Task A_refused_message_leaves_the_batch_before_it_goes_again_and_a_permission_refusal_is_kept_to_say_once()
    {
        var buffer = Buffer(maxPending: 4);
        var messages = Messages(3);
        await buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages), default);
        var batch = buffer.TakeBatch()!;
        batch.BeginSend();

        batch.Refuse(messages[0], denied: true);
        batch.Failure = "no answer";
        batch.BeginSend();

        Assert.Equal([messages[1], messages[2]], batch.Messages);
        Assert.Equal(0, batch.RefusedCount);
        Assert.Null(batch.Failure);
        Assert.Same(messages[0], Assert.Single(batch.TakeDenied()!));
        Assert.Null(batch.TakeDenied());
    }

    [Fact]
    public async Task Waiting_for_sent_completes_only_once_every_message_accepted_before_it_is_settled()
    {
        // Each half is more than a batch and less than two: the first half ends inside the second batch.
        const int half = PublishBuffer.BatchSize + PublishBuffer.BatchSize / 2;
        var buffer = Buffer(maxPending: 4 * PublishBuffer.BatchSize);
        await buffer.AcceptAsync(new ArraySegment<DispatchMessage>(Messages(half)), default);
        var sent = buffer.WhenSentAsync(default).AsTask();
        await buffer.AcceptAsync(new ArraySegment<DispatchMessage>(Messages(half)), default);
        var batches = TakeAll(buffer);
        Assert.Equal(3, batches.Count);

        buffer.Settle(batches[0]);
        Assert.False(sent.IsCompleted);
        buffer.Settle(batches[1]);
        await sent.WaitAsync(Patience);

        Assert.False(buffer.WhenSentAsync(default).IsCompleted); // the later half is not settled yet
        buffer.Settle(batches[2]);
        Assert.True(buffer.WhenSentAsync(default).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Once_closed_the_buffer_refuses_messages_and_those_waiting_for_sent_are_told_when_the_publisher_stops()
    {
        var buffer = Buffer(maxPending: 10);
        await buffer.AcceptAsync(Messages(1)[0], default);
        var sent = buffer.WhenSentAsync(default).AsTask();

        buffer.Close();

        await Assert.ThrowsAsync<OperationCanceledException>(() => buffer.AcceptAsync(Messages(1)[0], default).AsTask());
        Assert.Equal(0, buffer.TryAcceptNow(Messages(1), TimeSpan.Zero));
        Assert.False(sent.IsCompleted);
        buffer.Stopped();
        await Assert.ThrowsAsync<OperationCanceledException>(() => sent.WaitAsync(Patience));
        await Assert.ThrowsAsync<OperationCanceledException>(() => buffer.WhenSentAsync(default).AsTask());
        Assert.Equal(1, buffer.Pending); // left unconfirmed: the caller counts it as abandoned
    }

    [Fact]
    public void Handing_over_now_takes_only_what_fits_and_never_drops()
    {
        _open = false;
        var buffer = Buffer(maxPending: 3);
        var messages = Messages(5);

        Assert.Equal(3, buffer.TryAcceptNow(messages, TimeSpan.FromSeconds(1)));
        Assert.Equal(0, buffer.TryAcceptNow(messages.AsSpan(3), TimeSpan.FromSeconds(1)));

        Assert.Equal(0, buffer.Dropped);
        Assert.Equal(3, buffer.Pending);
        Assert.Equal(messages[..3], buffer.TakeBatch()!.Messages);
    }

    [Fact]
    public async Task Handing_over_now_returns_once_the_publisher_has_written_the_messages()
    {
        var buffer = Buffer(maxPending: 10);
        var messages = Messages(2);

        var handOver = Task.Run(() => buffer.TryAcceptNow(messages, Patience));
        PublishBatch? batch = null;
        await WhenWaiting(() => (batch ??= buffer.TakeBatch()) is not null, () => { });
        await Task.Delay(50);
        Assert.False(handOver.IsCompleted);

        buffer.Written(batch!);

        Assert.Equal(2, await handOver.WaitAsync(Patience));
    }

    private PublishBuffer Buffer(int maxPending) => _buffer = new PublishBuffer(maxPending, () => _open, _clock, _log);

    private static List<PublishBatch> TakeAll(PublishBuffer buffer)
    {
        var batches = new List<PublishBatch>();
        while (buffer.TakeBatch() is { } batch)
        {
            batches.Add(batch);
        }
        return batches;
    }

    internal static DispatchMessage[] Messages(int count, string schedule = "nightly") =>
        [.. Enumerable.Range(0, count).Select(i => Message(i, schedule))];

    /// <summary>Message <paramref name="i"/> of a fire of <paramref name="schedule"/>.</summary>
    internal static DispatchMessage Message(int i, string schedule) => new(
        "loom.goals.incoming", Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"), schedule, "2026-12-07T06:00:00Z", $"loomsched/{schedule}/2026-12-07T06:00:00Z/{i}");

    /// <summary>Repeats <paramref name="nudge"/> (e.g. moving the fake clock) until <paramref name="done"/>, in real time.</summary>
    internal static async Task WhenWaiting(Func<bool> done, Action nudge)
    {
        var until = DateTime.UtcNow + Patience;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < until, "the awaited state did not come in time");
            nudge();
            await Task.Delay(5);
        }
    }
}
