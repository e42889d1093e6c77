using LoomSched.Generators.Yaml;

namespace LoomSched.Generators.Tests;

/// <summary>The tolerant YAML scanner finds expand_from values in every style a config may use, and never throws.</summary>
public class ExpandFromScannerFacts
{
    [Theory]
    // Block style
    [InlineData("expand_from: json_file", "json_file@0:13")]
    [InlineData("schedules:\n  - name: a\n    expand_from: sessions.active\n", "sessions.active@2:17")]
    [InlineData("schedules:\n- name: a\n  expand_from: x\n- name: b\n  expand_from: y\n", "x@2:15 y@4:15")]
    [InlineData("schedules:\n  - expand_from: first_key\n    name: a\n", "first_key@1:17")]
    [InlineData("schedules:\n  -   expand_from: wide_dash\n", "wide_dash@1:19")]
    [InlineData("schedules:\n - - expand_from: nested_seq\n", "nested_seq@1:18")]
    // Quoted values and keys
    [InlineData("expand_from: \"double\"", "double@0:13")]
    [InlineData("expand_from: 'single'", "single@0:13")]
    [InlineData("expand_from: 'it''s'", "it's@0:13")]
    [InlineData("\"expand_from\": quoted_key", "quoted_key@0:15")]
    [InlineData("expand_from: \"a\\\"b\"", "a\"b@0:13")]
    // Comments
    [InlineData("expand_from: named # a comment", "named@0:13")]
    [InlineData("# expand_from: commented_out\nexpand_from: real", "real@1:13")]
    [InlineData("expand_from: \"x # not a comment\"", "x # not a comment@0:13")]
    [InlineData("expand_from: a#b", "a#b@0:13")]
    // Flow maps, on one line and across lines
    [InlineData("schedules:\n  - {name: a, expand_from: flow}\n", "flow@1:27")]
    [InlineData("schedules: [{name: a, expand_from: in_seq}, {expand_from: \"second\"}]", "in_seq@0:35 second@0:58")]
    [InlineData("schedules:\n  - {name: a,\n     expand_from: multi_line,\n     cron: '* * * * *'}\n", "multi_line@2:18")]
    [InlineData("schedules:\n  - {name: a, expand_from: x} # comment {expand_from: no}\n", "x@1:27")]
    [InlineData("- {\"expand_from\":\"json_style\"}", "json_style@0:17")]
    // Odd indentation and spacing
    [InlineData("schedules:\n      - name: a\n        expand_from:    spaced   \n", "spaced@2:24")]
    [InlineData("schedules:\n\t- name: a\n\t  expand_from: tabbed\n", "tabbed@2:16")]
    [InlineData("expand_from:\tafter_tab", "after_tab@0:13")]
    [InlineData("schedules:\r\n  - expand_from: crlf\r\n", "crlf@1:17")]
    // Tags and anchors in front of the value
    [InlineData("expand_from: !!str tagged", "tagged@0:19")]
    [InlineData("expand_from: &anchor anchored", "anchored@0:21")]
    // Documents
    [InlineData("---\nexpand_from: one\n---\nexpand_from: two\n...\n", "one@1:13 two@3:13")]
    public void Finds_each_reference_with_its_position(string yaml, string expected) =>
        Assert.Equal(expected, Render(yaml));

    [Theory]
    // Not references: data inside the free-form maps
    [InlineData("schedules:\n  - name: a\n    goal:\n      context:\n        expand_from: data\n")]
    [InlineData("schedules:\n  - task: {payload: {expand_from: data}}\n")]
    [InlineData("schedules:\n  - expand_args:\n      nested:\n        expand_from: data\n")]
    [InlineData("schedules:\n  - task:\n      payload:\n        - expand_from: data\n")]
    [InlineData("schedules:\n  - context: {a: [1, {expand_from: data}]}\n")]
    // Not references: inside scalars, block scalars and multi-line quoted strings
    [InlineData("instruction: |\n  expand_from: in_block_scalar\n  more\n")]
    [InlineData("- instruction: >-\n    expand_from: folded\n")]
    [InlineData("instruction: \"starts here\n  expand_from: in_quotes\n  ends here\"\n")]
    [InlineData("note: expand_from: not_a_key")]
    [InlineData("other_expand_from: x\nexpand_from_x: y")]
    // Not names: null, empty, aliases, nested collections
    [InlineData("expand_from:\n")]
    [InlineData("expand_from: ~\n")]
    [InlineData("expand_from: null\n")]
    [InlineData("expand_from: *alias\n")]
    [InlineData("expand_from: [a, b]\n")]
    [InlineData("expand_from: {a: b}\n")]
    [InlineData("")]
    public void Ignores_what_is_not_a_reference(string yaml) => Assert.Equal("", Render(yaml));

    [Fact]
    public void After_a_block_scalar_ends_the_next_key_is_read_again()
    {
        Assert.Equal("after@3:15", Render("schedules:\n- instruction: |\n    text\n  expand_from: after\n"));
    }

    [Fact]
    public void An_explicitly_empty_quoted_name_is_reported_as_empty() =>
        Assert.Equal("@0:13", Render("expand_from: \"\""));

    [Fact]
    public void Arbitrary_bytes_never_make_it_throw()
    {
        var random = new Random(20260101);
        const string alphabet = "expand_from: \"'{}[],#-|>&*!?\n\t \\abc";
        for (var i = 0; i < 3000; i++)
        {
            var chars = new char[random.Next(0, 120)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }
            var text = new string(chars);
            var found = ExpandFromScanner.Scan(text);
            Assert.All(found, r => Assert.True(r.Span.End <= text.Length, $"span past the end for: {text}"));
        }
    }

    private static string Render(string yaml) =>
        string.Join(" ", ExpandFromScanner.Scan(yaml).Select(r => $"{r.Name}@{r.LineSpan.Start.Line}:{r.LineSpan.Start.Character}"));
}
