using LoomSched.Config;

namespace LoomSched.Core.Tests.Config;

/// <summary>User text quoted in a message stays on one line and cannot restyle the terminal or reverse what follows.</summary>
public sealed class UserTextFacts
{
    [Theory]
    [InlineData("a\nb", @"a\nb")]
    [InlineData("a\r\nb", @"a\r\nb")]
    [InlineData("\tx", @"\tx")]
    [InlineData("\u001b[31mred", @"\u001b[31mred")]
    [InlineData("nul\0", @"nul\u0000")]
    [InlineData("del\u007f", @"del\u007f")]
    [InlineData("next\u0085line", @"next\u0085line")]
    [InlineData("line\u2028separator", @"line\u2028separator")]
    [InlineData("abc\u202edef", @"abc\u202edef")]
    [InlineData("isolate\u2066x\u2069", @"isolate\u2066x\u2069")]
    public void Control_and_direction_characters_are_written_as_escapes(string text, string escaped)
    {
        Assert.Equal(escaped, UserText.Escape(text));
        Assert.True(UserText.NeedsEscape(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain text, \"quotes\" and a \\ backslash")]
    [InlineData("Grüße, 東京, emoji 🙂")]
    public void Text_without_them_is_returned_unchanged(string text)
    {
        Assert.Same(text, UserText.Escape(text));
        Assert.False(UserText.NeedsEscape(text));
    }

    [Fact]
    public void Every_diagnostic_quoting_a_line_break_or_escape_stays_one_line()
    {
        const string yaml = "name: t\n\"bad\\nkey\": 1\nschedules:\n  - name: \"x\\u001b[2J\"\n    interval_seconds: \"a\\rb\"\n    task: {worker_type: w, priority: \"hi\\tgh\"}\n";

        var result = ConfigLoader.LoadText(yaml, "t.yaml");

        Assert.False(result.Success);
        // Three errors, and a note for the unknown top-level key (Loom ignores it).
        var all = result.Errors.Concat(result.Notes).ToList();
        Assert.Equal(4, all.Count);
        Assert.All(all, e => Assert.False(UserText.NeedsEscape(e.ToString()), e.ToString()));
        Assert.Contains(result.Notes, e => e.Path == @"bad\nkey" && e.Message.StartsWith(@"unknown key ""bad\nkey""", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains(@"""hi\tgh""", StringComparison.Ordinal));
    }

    [Fact]
    public void A_file_name_with_a_line_break_is_escaped_where_a_diagnostic_names_it()
    {
        var error = Assert.Single(ConfigLoader.LoadText("[", "two\nlines.yaml").Errors);

        Assert.StartsWith(@"two\nlines.yaml:", error.ToString(), StringComparison.Ordinal);
    }
}
