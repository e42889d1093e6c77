using LoomSched.Dispatch;
using LoomSched.Publishing;
using LoomSched.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using static LoomSched.Tests.Publishing.PublishBufferFacts;

namespace LoomSched.Tests.Publishing;

/// <summary>
/// The publisher on a fake link and a fake clock: batches go out in order and pipelined, count as published only
/// when confirmed, and go again, in order and on a new session, when a confirmation fails.
/// </summary>
public sealed class PublisherFacts : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    // Messages enough for at least three batches, and for at least two.
    private const int Many = 2 * PublishBuffer.BatchSize + 88;
    private const int Some = PublishBuffer.BatchSize + 44;

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-12-07T06:00:00Z"));
    private readonly RecordingLogger _log = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly PublishBuffer _buffer;
    private readonly FakeTransport _link;
    private readonly Task _run;

    public PublisherFacts()
    {
        _buffer = new PublishBuffer(10_000, () => _link!.IsOpen, _clock, _log);
        _link = new FakeTransport(_buffer);
        _run = Task.Run(() => new Publisher(_buffer, _link, _clock, _log).RunAsync(_stop.Token));
    }

    public async ValueTask DisposeAsync()
    {
        _buffer.Close();
        await _stop.CancelAsync();
        await _run.WaitAsync(Patience);
        _buffer.Dispose();
        _stop.Dispose();
    }

    [Fact]
    public async Task Batches_go_out_in_order_without_waiting_for_each_other_and_count_as_published_only_once_confirmed()
    {
        var messages = Messages(Many);
        await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages), default);

        int batches = await AllOutAsync(Many); // all out before any is confirmed
        Assert.InRange(batches, 3, 16);
        Assert.Equal(messages, _link.Sent.SelectMany(s => s.Messages));
        Assert.All(_link.Sent, s => Assert.Equal(1, s.Session));
        Assert.Equal(0, _buffer.Published);
        Assert.Equal(Many, _buffer.Pending);

        ConfirmAll(true);

        await Until(() => _buffer.Published == Many);
        Assert.Equal(0, _buffer.Pending);
        Assert.Equal(0, _buffer.Resent);
    }

    [Fact]
    public async Task Batches_settle_in_the_order_they_went_out_even_when_a_later_one_is_confirmed_first()
    {
        await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>(Messages(Some)), default);
        int batches = await AllOutAsync(Some);
        Assert.True(batches >= 2, $"{batches} batch(es)");

        for (int i = 1; i < batches; i++)
        {
            _link.Confirmation(i).SetResult(true);
        }
        await Task.Delay(50);
        Assert.Equal(0, _buffer.Published);

        _link.Confirmation(0).SetResult(true);
        await Until(() => _buffer.Published == Some);
    }

    [Fact]
    public async Task A_batch_not_confirmed_goes_again_from_its_start_with_every_batch_after_it_in_order_on_a_new_session()
    {
        var messages = Messages(Many);
        await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages), default);
        int batches = await AllOutAsync(Many);

        _link.Confirmation(0).SetResult(false);
        await Until(() => _buffer.Resent == Many);
        await WhenWaiting(() => _link.Sent.Skip(batches).Sum(s => s.Messages.Length) == Many,
            () => _clock.Advance(TimeSpan.FromMilliseconds(20)));

        var again = _link.Sent.Skip(batches).ToList();
        Assert.Equal(messages, again.SelectMany(s => s.Messages));
        Assert.All(again, s => Assert.Equal(2, s.Session));
        Assert.Equal(0, _buffer.Published);
        Assert.Equal(Many, _buffer.Pending);

        await Until(() => _link.Confirmations.Count == batches + again.Count);
        foreach (var (_, confirm) in _link.Confirmations.Skip(batches))
        {
            confirm.SetResult(true);
        }
        await Until(() => _buffer.Published == Many);
        Assert.Equal(0, _buffer.Pending);
        Assert.Equal(Many, _buffer.Resent);
        Assert.Contains(_log.Lines, l => l.EventId == 22 && l.Text.StartsWith($"resending {Many} message(s) from nightly", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.EventId == 23 && l.Text.Contains("after 1 failed attempt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_session_starts_only_once_the_link_is_ready_for_the_batch_it_sends_first_and_nothing_goes_out_before()
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _link.Readiness = ready.Task;
        var messages = Messages(Some);
        await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages), default);

        await Until(() => !_link.ReadiedFor.IsEmpty);
        await Task.Delay(50);
        Assert.Empty(_link.Sent);
        Assert.Equal(0, _link.SessionsBegun);
        var first = Assert.Single(_link.ReadiedFor); // the head of the buffer (the publisher may take it before the rest arrives)
        Assert.NotEmpty(first);
        Assert.Equal(messages[..first.Length], first);
        Assert.Equal(Some, _buffer.Pending);

        ready.SetResult();
        await AllOutAsync(Some);
        ConfirmAll(true);
        await Until(() => _buffer.Published == Some);
        Assert.Equal(1, _link.SessionsBegun);
        Assert.Equal(0, _buffer.Resent);
    }

    [Fact]
    public async Task A_failing_link_is_tried_again_after_a_pause_that_doubles_from_20_ms()
    {
        await _buffer.AcceptAsync(Messages(1)[0], default);
        await Until(() => _link.Confirmations.Count == 1);

        _link.Confirmation(0).SetResult(false);
        await Until(() => _buffer.Resent == 1);
        await Task.Delay(50); // the publisher is in its pause now
        _clock.Advance(TimeSpan.FromMilliseconds(19));
        await Task.Delay(50);
        Assert.Single(_link.Sent);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await Until(() => _link.Confirmations.Count == 2);

        _link.Confirmation(1).SetResult(false);
        await Until(() => _buffer.Resent == 2);
        await Task.Delay(50);
        _clock.Advance(TimeSpan.FromMilliseconds(39));
        await Task.Delay(50);
        Assert.Equal(2, _link.Sent.Count);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await Until(() => _link.Confirmations.Count == 3);

        _link.Confirmation(2).SetResult(true);
        await Until(() => _buffer.Published == 1);
        Assert.Equal(3, _link.SessionsBegun);
        Assert.Equal(2, _log.Lines.Count(l => l.EventId == 22)); // attempts 1 and 2 (then 4, 8, ...)
    }

    [Fact]
    public async Task While_the_link_is_away_messages_wait_in_the_buffer_and_go_out_once_it_is_back()
    {
        _link.IsOpen = false;
        var messages = Messages(3);
        await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages), default);

        _clock.Advance(TimeSpan.FromSeconds(1));
        await Task.Delay(50);
        Assert.Empty(_link.Sent);
        Assert.Equal(3, _buffer.Pending);

        _link.IsOpen = true;
        await WhenWaiting(() => !_link.Sent.IsEmpty, () => _clock.Advance(TimeSpan.FromMilliseconds(20)));

        Assert.Equal(messages, Assert.Single(_link.Sent).Messages);
    }

    [Fact]
    public async Task A_send_broken_off_under_the_write_goes_again_on_a_new_session_without_counting_as_resent()
    {
        _link.BreakNextSend();
        var messages = Messages(2);
        await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>(messages), default);

        await Until(() => _link.Confirmations.Count == 1);
        Assert.Equal(2, _link.SessionsBegun);
        Assert.Equal(2, Assert.Single(_link.Sent).Session);
        ConfirmAll(true);

        await Until(() => _buffer.Published == 2);
        Assert.Equal(0, _buffer.Resent);
    }

    [Fact]
    public async Task A_batch_whose_every_message_was_refused_while_sending_settles_without_a_confirmation()
    {
        _link.RefusesWhileSending = m => m.ScheduleName == "too-large";
        await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>(Messages(2, "too-large")), default);
        await Until(() => _buffer.PublishErrors == 2 && _buffer.Pending == 0);
        await _buffer.WhenSentAsync(default).AsTask().WaitAsync(Patience);

        await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>([.. Messages(1, "too-large"), .. Messages(2)]), default);
        await Until(() => _link.Confirmations.Count == 1);
        ConfirmAll(true);

        await Until(() => _buffer.Published == 2);
        Assert.Equal(3, _buffer.PublishErrors);
        Assert.Equal(0, _buffer.Pending);
    }

    [Fact]
    public async Task Once_the_buffer_is_closed_the_publisher_ends_when_everything_in_it_is_confirmed()
    {
        await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>(Messages(5)), default);
        await Until(() => _link.Confirmations.Count == 1);

        _buffer.Close();
        await Task.Delay(50);
        Assert.False(_run.IsCompleted);
        ConfirmAll(true);

        await _run.WaitAsync(Patience);
        Assert.Equal(5, _buffer.Published);
    }

    [Fact]
    public async Task Cut_by_the_stop_the_publisher_ends_leaving_what_is_unconfirmed_pending_and_its_waiters_told()
    {
        await _buffer.AcceptAsync(new ArraySegment<DispatchMessage>(Messages(5)), default);
        await Until(() => _link.Confirmations.Count == 1);
        var sent = _buffer.WhenSentAsync(default).AsTask();
        _buffer.Close();

        await _stop.CancelAsync(); // the end of the shutdown grace: it cuts the confirmation awaited

        await _run.WaitAsync(Patience);
        Assert.Equal(5, _buffer.Pending);
        await Assert.ThrowsAsync<OperationCanceledException>(() => sent.WaitAsync(Patience));
    }

    private void ConfirmAll(bool confirmed)
    {
        foreach (var (_, confirm) in _link.Confirmations)
        {
            confirm.TrySetResult(confirmed);
        }
    }

    private static Task Until(Func<bool> done) => WhenWaiting(done, () => { });

    /// <summary>
    /// Waits until all <paramref name="count"/> messages are sent and each batch awaits its confirmation; returns how
    /// many batches they went in (at least count / 1,024: the publisher may take a batch while messages still arrive).
    /// </summary>
    private async Task<int> AllOutAsync(int count)
    {
        await Until(() => _link.Sent.Sum(s => s.Messages.Length) == count && _link.Confirmations.Count == _link.Sent.Count);
        return _link.Sent.Count;
    }
}
