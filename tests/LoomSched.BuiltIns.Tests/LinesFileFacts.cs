using LoomSched.Expansion;
using LoomSched.BuiltIns.Tests.Support;
using static LoomSched.BuiltIns.Tests.Support.Expansions;

namespace LoomSched.BuiltIns.Tests;

/// <summary>lines_file: one map per non-blank line, under expand_args.key or "item".</summary>
public sealed class LinesFileFacts : IDisposable
{
    private readonly TempDir _dir = new();

    [Fact]
    public async Task Each_non_blank_line_becomes_one_map_under_item()
    {
        var path = _dir.File("hosts.txt", "alpha\n\n  beta  \r\n   \ngamma");

        var maps = await Expand("lines_file", Args(("path", path)));

        Assert.Equal(["alpha", "beta", "gamma"], maps.Select(m => Assert.Single(m, kv => kv.Key == "item").Value).ToArray());
        Assert.All(maps, m => Assert.Single(m));
    }

    [Fact]
    public async Task A_custom_key_names_the_field()
    {
        var path = _dir.File("hosts.txt", "alpha\nbeta\n");

        var maps = await Expand("lines_file", Args(("path", path), ("key", "host")));

        Assert.Equal([new Dictionary<string, object?> { ["host"] = "alpha" }, new Dictionary<string, object?> { ["host"] = "beta" }], maps);
    }

    [Fact]
    public async Task An_empty_file_gives_no_maps() =>
        Assert.Empty(await Expand("lines_file", Args(("path", _dir.File("empty.txt", "\n\n")))));

    [Theory]
    [InlineData("absent.txt")]
    [InlineData("no-such-folder/absent.txt")]
    public async Task A_missing_file_fails_the_fire_saying_there_is_no_such_file(string name)
    {
        var path = Path.Combine(_dir.Path, name);

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("lines_file", Args(("path", path))));

        Assert.Equal($"lines_file: cannot read '{path}': no such file or directory", error.Message);
    }

    [Fact]
    public async Task A_path_that_is_a_directory_fails_the_fire_saying_so()
    {
        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("lines_file", Args(("path", _dir.Path))));

        Assert.Equal($"lines_file: cannot read '{_dir.Path}': it is a directory, not a file", error.Message);
    }

    [Fact]
    public async Task A_line_of_more_than_a_mebibyte_fails_the_fire_naming_the_line()
    {
        var path = _dir.File("one-long-line.txt", "alpha\r\nbeta\n" + new string('x', (1 << 20) + 1) + "\n");

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("lines_file", Args(("path", path))));

        Assert.Equal($"lines_file: line 3 of '{path}' is longer than 1 MiB, more than a message may carry: is it a text file of one item per line?", error.Message);
    }

    [Fact]
    public async Task A_line_of_exactly_a_mebibyte_is_read()
    {
        var path = _dir.File("long-line.txt", "alpha\n" + new string('x', 1 << 20) + "\nomega");

        var maps = await Expand("lines_file", Args(("path", path)));

        Assert.Equal([5, 1 << 20, 5], maps.Select(m => ((string)m["item"]!).Length));
    }

    [Fact]
    public async Task A_device_without_line_breaks_fails_the_fire_instead_of_filling_the_memory()
    {
        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("lines_file", Args(("path", "/dev/zero"))));

        Assert.StartsWith("lines_file: line 1 of '/dev/zero' is longer than 1 MiB", error.Message, StringComparison.Ordinal);
    }

    // Validation of expand_args
    [Fact]
    public void A_missing_path_and_a_bad_key_are_both_reported() =>
        Assert.Equal(
            [new("path", "'path' is required"), new("key", "'key' must be a non-empty string, not the string \"\"")],
            Validate("lines_file", Args(("key", ""))));

    [Fact]
    public void A_path_with_or_without_a_key_is_valid()
    {
        Assert.Empty(Validate("lines_file", Args(("path", "/x.txt"))));
        Assert.Empty(Validate("lines_file", Args(("path", "/x.txt"), ("key", "host"))));
    }

    public void Dispose() => _dir.Dispose();
}
