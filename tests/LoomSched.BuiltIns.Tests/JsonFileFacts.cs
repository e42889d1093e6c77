using LoomSched.Expansion;
using LoomSched.BuiltIns.Tests.Support;
using static LoomSched.BuiltIns.Tests.Support.Expansions;

namespace LoomSched.BuiltIns.Tests;

/// <summary>json_file: one map per object of the JSON array at expand_args.path, read at every fire.</summary>
public sealed class JsonFileFacts : IDisposable
{
    private readonly TempDir _dir = new();

    [Fact]
    public async Task Each_object_of_the_array_becomes_one_map_with_plain_values()
    {
        var path = _dir.File("sessions.json", """
            [
              {"id": "s1", "n": 3, "ratio": 0.5, "ok": true, "none": null, "tags": ["a", 1], "meta": {"x": "y"}},
              {"id": "s2"}
            ]
            """);

        var maps = await Expand("json_file", Args(("path", path)));

        Assert.Equal(2, maps.Count);
        var first = maps[0];
        Assert.Equal(["id", "n", "ratio", "ok", "none", "tags", "meta"], first.Keys.ToArray());
        Assert.Equal("s1", first["id"]);
        Assert.Equal(3L, first["n"]);
        Assert.Equal(0.5, first["ratio"]);
        Assert.Equal(true, first["ok"]);
        Assert.Null(first["none"]);
        Assert.Equal(new object?[] { "a", 1L }, Assert.IsType<List<object?>>(first["tags"]));
        Assert.Equal("y", Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(first["meta"])["x"]);
        Assert.Equal(new Dictionary<string, object?> { ["id"] = "s2" }, maps[1]);
    }

    [Fact]
    public async Task A_whole_number_beyond_64_bits_is_read_exactly_as_Python_reads_it()
    {
        var path = _dir.File("big.json", """[{"id": 123456789012345678901234567890, "u": 18446744073709551615, "neg": -9223372036854775809, "f": 1e20}]""");

        var map = Assert.Single(await Expand("json_file", Args(("path", path))));

        Assert.Equal(System.Numerics.BigInteger.Parse("123456789012345678901234567890"), map["id"]);
        Assert.Equal((System.Numerics.BigInteger)ulong.MaxValue, map["u"]);
        Assert.Equal(System.Numerics.BigInteger.Parse("-9223372036854775809"), map["neg"]);
        Assert.Equal(1e20, map["f"]);
    }

    [Fact]
    public async Task A_whole_number_of_more_digits_than_Python_reads_fails_the_fire_naming_its_element()
    {
        var path = _dir.File("huge.json", $$"""[{"a": 1}, {"n": -{{new string('9', 4300)}}}, {"n": 1{{new string('0', 4300)}}}]""");

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("json_file", Args(("path", path))));

        Assert.Equal($"json_file: element 2 of the array in '{path}' holds an integer of more than 4,300 digits, which Python (Loom) refuses to read or write as text", error.Message);
    }

    [Theory]
    [InlineData("""[{"a": 1}, {"s": "\ud800"}]""")]
    [InlineData("""[{"a": 1}, {"\udc00": 1}]""")]
    [InlineData("""[{"a": 1}, {"l": ["x", {"s": "a\ud800b"}]}]""")]
    public async Task Text_with_an_escaped_lone_surrogate_fails_the_fire_in_the_functions_own_words(string json)
    {
        var path = _dir.File("surrogate.json", json);

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("json_file", Args(("path", path))));

        Assert.Equal($"json_file: element 1 of the array in '{path}' holds text that is not Unicode (an escaped lone surrogate such as \"\\ud800\"), which no message can carry", error.Message);
    }

    [Fact]
    public async Task The_file_is_read_again_at_every_fire()
    {
        var path = _dir.File("live.json", """[{"v": 1}]""");
        Assert.Single(await Expand("json_file", Args(("path", path))));

        File.WriteAllText(path, """[{"v": 1}, {"v": 2}]""");

        Assert.Equal(2, (await Expand("json_file", Args(("path", path)))).Count);
    }

    [Fact]
    public async Task A_file_over_256_MiB_fails_the_fire_before_it_is_read()
    {
        var path = System.IO.Path.Combine(_dir.Path, "huge.json");
        using (var file = File.Create(path))
        {
            file.SetLength((256L << 20) + 1); // sparse: nothing is written
        }

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("json_file", Args(("path", path))));

        Assert.Equal($"json_file: '{path}' is larger than 256 MiB, which it reads whole at every fire: is it the file meant?", error.Message);
    }

    [Fact]
    public async Task A_device_that_never_ends_fails_the_fire_at_256_MiB()
    {
        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("json_file", Args(("path", "/dev/zero"))));

        Assert.Equal("json_file: '/dev/zero' is larger than 256 MiB, which it reads whole at every fire: is it the file meant?", error.Message);
    }

    /// <summary>A FIFO without a writer, and json_file with a context that reads it.</summary>
    private async Task<(string Path, ExpansionFunction Function, ExpansionContext Context)> JsonFileOnAFifoAsync()
    {
        var path = System.IO.Path.Combine(_dir.Path, "feed.json");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", path))
        {
            await mkfifo.WaitForExitAsync();
        }
        Assert.True(Registry.TryGet("json_file", out var function));
        return (path, function, new ExpansionContext { ScheduleName = "s", ScheduledFor = DateTimeOffset.UnixEpoch, Args = Args(("path", path)) });
    }

    [Fact]
    public async Task Fires_on_a_fifo_without_a_writer_wait_for_one_read_of_it_instead_of_each_holding_a_thread()
    {
        var (path, function, context) = await JsonFileOnAFifoAsync();

        // Five fires, each cut by its expand_timeout_seconds while the open waits for a writer.
        for (int i = 0; i < 5; i++)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await function.Invoke(context, timeout.Token));
        }
        Assert.Equal(1, Readers());

        // A writer comes: the one read gets what it wrote, and ends.
        using (var writer = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            await writer.WriteAsync("""[{"v": 1}]"""u8.ToArray());
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Readers() > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(0, Readers());

        // The process's threads by name; one that ends meanwhile is no reader.
        static int Readers() => Directory.GetDirectories("/proc/self/task").Count(task =>
        {
            try
            {
                return File.ReadAllText(System.IO.Path.Combine(task, "comm")).TrimEnd() == "json_file read";
            }
            catch (IOException)
            {
                return false;
            }
        });
    }

    [Fact]
    public async Task A_fifo_replaced_by_a_file_is_read_at_the_next_fire_though_the_fifos_read_still_waits()
    {
        var (path, function, context) = await JsonFileOnAFifoAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await function.Invoke(context, timeout.Token));
        }

        // Renamed rather than deleted, so that the waiting read can be given a writer at the end.
        File.Move(path, path + ".fifo");
        File.WriteAllText(path, """[{"v": 2}]""");

        Assert.Equal(2L, Assert.Single(await Expand("json_file", Args(("path", path))).WaitAsync(TimeSpan.FromSeconds(10)))["v"]);
        using (var writer = new FileStream(path + ".fifo", FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
        }
    }

    [Fact]
    public async Task An_empty_array_gives_no_maps() =>
        Assert.Empty(await Expand("json_file", Args(("path", _dir.File("empty.json", "[]")))));

    [Fact]
    public async Task A_file_that_is_not_an_array_fails_the_fire_with_a_clear_message()
    {
        var path = _dir.File("object.json", """{"id": "s1"}""");

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("json_file", Args(("path", path))));

        Assert.Equal($"json_file: '{path}' holds an object; it must hold an array of objects, one per dispatch", error.Message);
    }

    [Fact]
    public async Task An_element_that_is_not_an_object_fails_the_fire_naming_its_index()
    {
        var path = _dir.File("mixed.json", """[{"id": "s1"}, 42]""");

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("json_file", Args(("path", path))));

        Assert.Equal($"json_file: element 1 of the array in '{path}' is a number; every element must be an object", error.Message);
    }

    [Theory]
    [InlineData("absent.json")]
    [InlineData("no-such-folder/absent.json")]
    public async Task A_missing_file_fails_the_fire_saying_there_is_no_such_file(string name)
    {
        var path = Path.Combine(_dir.Path, name);

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("json_file", Args(("path", path))));

        Assert.Equal($"json_file: cannot read '{path}': no such file or directory", error.Message);
    }

    [Fact]
    public async Task A_path_that_is_a_directory_fails_the_fire_saying_so()
    {
        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("json_file", Args(("path", _dir.Path))));

        Assert.Equal($"json_file: cannot read '{_dir.Path}': it is a directory, not a file", error.Message);
    }

    [Theory]
    [InlineData("[{\"id\": ", "at line 1, column 9 (it ends before the JSON is complete)")]
    [InlineData("[\n  {n: 1}\n]", "at line 2, column 4 (unexpected 'n'; text goes in double quotes)")]
    [InlineData("[{\"id\": 1},]", "at line 1, column 12 (a comma before ']')")]
    [InlineData("", "(it is empty)")]
    public async Task Invalid_json_fails_the_fire_with_its_line_column_and_reason(string content, string where)
    {
        var path = _dir.File("broken.json", content);

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("json_file", Args(("path", path))));

        Assert.Equal($"json_file: '{path}' is not valid JSON {where}", error.Message);
    }

    [Fact]
    public async Task A_byte_order_mark_before_the_array_is_skipped()
    {
        var path = Path.Combine(_dir.Path, "bom.json");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "[{\"id\": \"s1\"}]"u8]);

        Assert.Equal("s1", Assert.Single(await Expand("json_file", Args(("path", path))))["id"]);
    }

    // Validation of expand_args
    [Fact]
    public void A_missing_path_is_a_validation_error() =>
        Assert.Equal([new("path", "'path' is required")], Validate("json_file", Args()));

    [Fact]
    public void A_path_that_is_not_a_string_is_a_validation_error() =>
        Assert.Equal([new("path", "'path' must be a non-empty string, not 3")], Validate("json_file", Args(("path", 3L))));

    [Fact]
    public void A_string_path_is_valid() => Assert.Empty(Validate("json_file", Args(("path", "/x.json"))));

    [Fact]
    public async Task Firing_without_a_path_fails_with_the_validation_message()
    {
        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("json_file", Args()));

        Assert.Equal("json_file: expand_args 'path' is required", error.Message);
    }

    public void Dispose() => _dir.Dispose();
}
