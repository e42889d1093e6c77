using System.Buffers;
using System.Text;
using System.Text.Json;
using LoomSched.Config;

namespace LoomSched.Core.Tests.Config;

/// <summary>The JSON the CLI and the log print escapes what text mode escapes, and stays as readable otherwise.</summary>
public sealed class ReadableJsonFacts
{
    private static string Written(string value, JsonWriterOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, options))
        {
            w.WriteStartObject();
            w.WriteString(value, value);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Theory]
    [InlineData("abc\u202edef", @"abc\u202Edef")]
    [InlineData("mark\u200e\u200f\u061c", @"mark\u200E\u200F\u061C")]
    [InlineData("embed\u202a\u202b\u202c\u202d", @"embed\u202A\u202B\u202C\u202D")]
    [InlineData("isolate\u2066x\u2067\u2068\u2069", @"isolate\u2066x\u2067\u2068\u2069")]
    [InlineData("line\u2028para\u2029", @"line\u2028para\u2029")]
    [InlineData("a\nb\t\u001b[31m", @"a\nb\t\u001B[31m")]
    [InlineData("del\u007f next\u0085", @"del\u007F next\u0085")]
    [InlineData("bom\ufeff zero\u200bwidth", @"bom\uFEFF zero\u200Bwidth")]
    public void Direction_marks_control_and_invisible_characters_are_escaped_in_values_and_names(string text, string escaped)
    {
        Assert.Equal($"{{\"{escaped}\":\"{escaped}\"}}", Written(text, ReadableJson.OneLine));
        string indented = Written(text, ReadableJson.Indented);
        Assert.Contains($"\"{escaped}\": \"{escaped}\"", indented, StringComparison.Ordinal);
        var property = Assert.Single(JsonDocument.Parse(indented).RootElement.EnumerateObject());
        Assert.Equal((text, text), (property.Name, property.Value.GetString()));
    }

    [Theory]
    [InlineData("quote \" and \\ backslash, +01:00")]
    [InlineData("<tag> & 'x'")]
    [InlineData("Grüße, 東京, em dash —, emoji 🙂")]
    public void Other_characters_are_written_as_the_relaxed_encoder_writes_them(string text)
    {
        var relaxed = new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        Assert.Equal(Written(text, relaxed), Written(text, ReadableJson.OneLine));
    }

    [Fact]
    public void Raw_json_without_anything_to_escape_is_returned_as_it_is()
    {
        byte[] json = "{\"a\": [1, 2.50, \"Grüße —\"]}"u8.ToArray();

        Assert.True(ReadableJson.OneLineRaw(json) == json);
    }

    [Fact]
    public void Raw_json_keeps_its_tokens_and_loses_its_line_breaks_and_direction_marks()
    {
        byte[] json = Encoding.UTF8.GetBytes("{\n\t\"k\u202e\": \"v\u200fw\u007f\u0085\u2028\",\r\n  \"n\": [1, 2.50, 1e3]\n}");

        string written = Encoding.UTF8.GetString(ReadableJson.OneLineRaw(json));

        Assert.Equal(@"{  ""k\u202E"": ""v\u200Fw\u007F\u0085\u2028"",    ""n"": [1, 2.50, 1e3] }", written);
        var k = Assert.Single(JsonDocument.Parse(written).RootElement.EnumerateObject(), p => p.Name.StartsWith('k'));
        Assert.Equal(("k\u202e", "v\u200fw\u007f\u0085\u2028"), (k.Name, k.Value.GetString()));
    }
}
