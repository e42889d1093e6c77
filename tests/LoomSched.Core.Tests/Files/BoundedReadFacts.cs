using LoomSched.Tests.Support;
using LoomSched.Files;

namespace LoomSched.Core.Tests.Files;

/// <summary>BoundedRead: a whole file within a limit, on a thread of its own, one read of a file at a time.</summary>
public sealed class BoundedReadFacts : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loomsched-read-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<byte[]> Read(string path, int limit, string thread = "bounded test", Func<Stream, Stream>? wrap = null,
        Func<Exception, Exception>? fail = null, CancellationToken cancellationToken = default) =>
        BoundedRead.ReadAsync(path, limit, thread, wrap, fail, cancellationToken);

    private static byte[] Pattern(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 7 + i / 251))];

    private string Path(string name) => System.IO.Path.Combine(_dir, name);

    [Fact]
    public async Task A_file_of_exactly_the_limit_is_read_whole()
    {
        var bytes = Pattern(300_000);
        File.WriteAllBytes(Path("exact"), bytes);

        Assert.Equal(bytes, await Read(Path("exact"), 300_000));
    }

    [Fact]
    public async Task A_file_one_byte_over_the_limit_is_refused_with_its_length_before_a_byte_is_read()
    {
        File.WriteAllBytes(Path("over"), Pattern(300_001));
        bool opened = false;

        var error = await Assert.ThrowsAsync<FileTooLargeException>(() => Read(Path("over"), 300_000, wrap: s =>
        {
            opened = true;
            return s;
        }));

        Assert.Equal(300_001, error.Size);
        Assert.False(opened);
    }

    [Fact]
    public async Task A_huge_sparse_file_is_refused_at_once()
    {
        using (var file = File.Create(Path("sparse")))
        {
            file.SetLength(1L << 40);
        }

        Assert.Equal(1L << 40, (await Assert.ThrowsAsync<FileTooLargeException>(() => Read(Path("sparse"), 1000))).Size);
    }

    [Fact]
    public async Task An_empty_file_is_read_as_no_bytes()
    {
        File.WriteAllBytes(Path("empty"), []);

        Assert.Empty(await Read(Path("empty"), 10));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(81_920)]
    [InlineData(300_000)]
    public async Task A_fifo_of_up_to_the_limit_is_read_whole_in_order(int length)
    {
        Fifos.Make(Path("feed"));
        var bytes = Pattern(length);

        var read = Read(Path("feed"), 300_000);
        await Fifos.WriteAsync(Path("feed"), bytes);

        Assert.Equal(bytes, await read.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_fifo_one_byte_over_the_limit_is_refused_as_one_byte_over()
    {
        Fifos.Make(Path("feed"));

        var read = Read(Path("feed"), 300_000);
        await Fifos.WriteAsync(Path("feed"), Pattern(300_001));

        Assert.Equal(300_001, (await Assert.ThrowsAsync<FileTooLargeException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)))).Size);
    }

    [Fact]
    public async Task A_device_that_never_ends_is_refused_one_byte_past_the_limit() =>
        Assert.Equal(1_000_001, (await Assert.ThrowsAsync<FileTooLargeException>(() => Read("/dev/zero", 1_000_000))).Size);

    [Fact]
    public async Task A_proc_file_that_says_no_length_is_read_whole() =>
        Assert.StartsWith("Name:", System.Text.Encoding.ASCII.GetString(await Read("/proc/self/status", 1 << 20)), StringComparison.Ordinal);

    [Fact]
    public async Task The_wrapping_stream_sees_the_bytes_and_its_failure_fails_the_read()
    {
        File.WriteAllBytes(Path("checked"), Pattern(1000));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => Read(Path("checked"), 1000, wrap: s => new Refusing(s)));

        Assert.Equal("refused after 1000 bytes", error.Message);
    }

    [Fact]
    public async Task A_failure_is_mapped_by_the_callers_function_on_the_reading_thread()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Read(Path("absent"), 10, thread: "mapped read",
            fail: e => new InvalidOperationException($"{Thread.CurrentThread.Name}: {e.GetType().Name}", e)));

        Assert.Equal("mapped read: FileNotFoundException", error.Message);
    }

    [Fact]
    public async Task Callers_of_a_fifo_without_a_writer_hold_one_reading_thread_and_each_gives_up_at_its_own_deadline()
    {
        Fifos.Make(Path("stuck"));

        // Five after each other, each giving up after 100 ms; then five at once.
        for (int i = 0; i < 5; i++)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Read(Path("stuck"), 100, thread: "stuck read", cancellationToken: timeout.Token));
        }
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            var reads = Enumerable.Range(0, 5).Select(_ => Read(Path("stuck"), 100, thread: "stuck read", cancellationToken: timeout.Token)).ToArray();
            foreach (var read in reads)
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
            }
        }
        Assert.Equal(1, await Fifos.ThreadsSettleAsync("stuck read", 1));

        // A writer comes: the one read gets what it wrote and ends, and no caller that gave up starts another.
        await Fifos.WriteAsync(Path("stuck"), "x"u8.ToArray());
        Assert.Equal(0, await Fifos.ThreadsSettleAsync("stuck read", 0));
        await Task.Delay(200);
        Assert.Equal(0, Fifos.Threads("stuck read"));
    }

    [Fact]
    public async Task A_caller_that_finds_a_read_under_way_waits_for_it_then_reads_the_file_again()
    {
        Fifos.Make(Path("feed"));
        var first = Read(Path("feed"), 100, thread: "again read");
        Assert.Equal(1, await Fifos.ThreadsSettleAsync("again read", 1));
        await Task.Delay(100); // its open waits for a writer
        var second = Read(Path("feed"), 100, thread: "again read");
        await Task.Delay(100);

        await Fifos.WriteAsync(Path("feed"), "first"u8.ToArray());
        Assert.Equal("first"u8.ToArray(), await first.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(second.IsCompleted);
        await Fifos.WriteAsync(Path("feed"), "second"u8.ToArray());

        Assert.Equal("second"u8.ToArray(), await second.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_fifo_replaced_by_a_file_is_read_though_the_read_of_the_fifo_still_waits()
    {
        Fifos.Make(Path("config"));
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Read(Path("config"), 100, thread: "replaced read", cancellationToken: timeout.Token));
        }

        // Renamed, not deleted: the waiting read can still be given a writer at the end.
        File.Move(Path("config"), Path("config.fifo"));
        File.WriteAllText(Path("config"), "now a file");

        Assert.Equal("now a file"u8.ToArray(), await Read(Path("config"), 100, thread: "replaced read").WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, await Fifos.ThreadsSettleAsync("replaced read", 1));
        await Fifos.WriteAsync(Path("config.fifo"), []);
        Assert.Equal(0, await Fifos.ThreadsSettleAsync("replaced read", 0));
    }

    /// <summary>Passes the bytes through, then refuses at their end.</summary>
    private sealed class Refusing(Stream inner) : Stream
    {
        private int _seen;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int read = inner.Read(buffer, offset, count);
            _seen += read;
            return read > 0 ? read : throw new InvalidDataException($"refused after {_seen} bytes");
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
