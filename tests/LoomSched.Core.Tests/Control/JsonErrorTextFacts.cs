using System.Text;
using System.Text.Json;
using LoomSched.Control;

namespace LoomSched.Tests.Control;

/// <summary>
/// What "is not valid JSON" is followed by: a 1-based line and column (in characters) and a reason in plain words,
/// never the JsonException's message (a bare resource key in the published binary).
/// </summary>
public sealed class JsonErrorTextFacts
{
    private static string Describe(string json, int maxDepth = 64)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var error = Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = maxDepth }));
        return JsonErrorText.Describe(bytes, error, maxDepth);
    }

    [Theory]
    [InlineData("{n", "at line 1, column 2 (unexpected 'n'; text goes in double quotes)")]
    [InlineData("not json", "at line 1, column 1 (unexpected 'not'; text goes in double quotes)")]
    [InlineData("{\"action\": status}", "at line 1, column 12 (unexpected 'status'; text goes in double quotes)")]
    [InlineData("[tru]", "at line 1, column 2 (unexpected 'tru')")]
    [InlineData("[{\"id\": ", "at line 1, column 9 (it ends before the JSON is complete)")]
    [InlineData("[1,\n", "at line 2, column 1 (it ends before the JSON is complete)")]
    [InlineData("[\n  {\"a\": 1,}\n]", "at line 2, column 11 (a comma before '}')")]
    [InlineData("{'a': 1}", "at line 1, column 2 (a single quote; JSON takes double quotes)")]
    [InlineData("{\"a\": 1 // why\n}", "at line 1, column 9 (JSON has no comments)")]
    [InlineData("[\"a\tb\"]", "at line 1, column 4 (a raw control character (U+0009) inside text; write it escaped)")]
    [InlineData("[\"é\", ~]", "at line 1, column 7 (unexpected '~')")]
    [InlineData("[1] ]", "at line 1, column 5 (unexpected ']')")]
    [InlineData("  \n ", "(it is empty)")]
    public void A_syntax_error_is_placed_and_explained_in_plain_words(string json, string expected) =>
        Assert.Equal(expected, Describe(json));

    [Fact]
    public void Nesting_past_the_limit_says_so() =>
        Assert.Equal("at line 1, column 17 (nested deeper than 16 levels)", Describe(new string('[', 20), maxDepth: 16));

    [Fact]
    public void A_byte_that_is_not_utf8_is_named_by_its_value()
    {
        byte[] bytes = [(byte)'[', 0xFF, (byte)']'];
        var error = Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(bytes));
        Assert.Equal("at line 1, column 2 (byte 0xFF is not UTF-8)", JsonErrorText.Describe(bytes, error, 64));
    }
}
