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
    [InlineData("\ufeffname", @"\ufeffname")]
    [InlineData("zero\u200bwidth", @"zero\u200bwidth")]
    public void Control_direction_and_invisible_characters_are_written_as_escapes(string text, string escaped)
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

    [Theory]
    [InlineData(0)]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(60_000)]
    public void Text_over_its_limit_keeps_its_start_and_end_and_says_how_much_was_left_out(int length)
    {
        string text = string.Concat(Enumerable.Range(0, length).Select(i => (char)('a' + (i % 26))));

        string shown = UserText.Elide(text, 400);

        if (length <= 400)
        {
            Assert.Same(text, shown);
            return;
        }
        Assert.InRange(shown.Length, 300, 450);
        Assert.StartsWith(text[..240], shown, StringComparison.Ordinal);
        Assert.EndsWith(text[^100..], shown, StringComparison.Ordinal);
        Assert.Contains($" … ({length - 340:N0} characters left out) … ", shown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, new string[0])]
    [InlineData(3, new[] { "e0", "e1", "e2" })]
    [InlineData(4, new[] { "e0", "e1", "e2", "and 1 more" })]
    [InlineData(2003, new[] { "e0", "e1", "e2", "and 2,000 more" })]
    public void A_shortlist_names_the_first_items_and_how_many_more(int count, string[] expected)
    {
        var items = Enumerable.Range(0, count).Select(i => $"e{i}").ToList();

        Assert.Equal(expected, UserText.Shortlist(items, 3));
    }

    [Theory]
    [InlineData("", 400)]
    [InlineData("x", 400)]
    [InlineData("", 403)]
    [InlineData("x", 403)]
    public void Eliding_never_splits_a_character_outside_the_basic_plane(string before, int max)
    {
        string text = before + string.Concat(Enumerable.Repeat("🙂", 1000)); // each a surrogate pair

        string shown = UserText.Elide(text, max);

        // A lone half of a pair does not survive UTF-8: it comes back as U+FFFD.
        Assert.DoesNotContain('\ufffd', System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(shown)));
        Assert.Contains("characters left out", shown, StringComparison.Ordinal);
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
