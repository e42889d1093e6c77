using LoomSched.Config;

namespace LoomSched.Core.Tests.Config;

/// <summary>Free-form values are typed as PyYAML's safe_load (YAML 1.1) types them, since Loom reads the same file.</summary>
public sealed class ScalarTypingFacts
{
    private static object? Load(string yamlValue)
    {
        string yaml = $$"""
            name: t
            schedules:
              - name: a
                interval_seconds: 1
                task:
                  worker_type: w
                  payload: {v: {{yamlValue}}}
            """;
        var result = ConfigLoader.LoadText(yaml, "t.yaml");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return Assert.IsType<TaskTemplate>(result.Config!.Schedules[0].Template).Payload["v"];
    }

    // .inf and .nan are floats to PyYAML, but JSON cannot carry them: refused (see tests/configs/invalid).
    [Theory]
    [InlineData(".inf")]
    [InlineData("-.Inf")]
    [InlineData("+.INF")]
    [InlineData(".nan")]
    [InlineData(".NaN")]
    public void Infinite_and_not_a_number_floats_are_refused_as_having_no_json_form(string yaml)
    {
        var result = ConfigLoader.LoadText($"name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    task: {{worker_type: w, payload: {{v: {yaml}}}}}\n", "t.yaml");
        var error = Assert.Single(result.Errors);
        Assert.Equal("schedules[0].task.payload.v", error.Path);
        Assert.Contains("which JSON cannot carry", error.Message);
    }

    [Theory]
    // null
    [InlineData("~", null)]
    [InlineData("null", null)]
    [InlineData("Null", null)]
    [InlineData("NULL", null)]
    [InlineData("", null)]
    [InlineData("nULL", "nULL")]
    // booleans, YAML 1.1 spellings
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("TRUE", true)]
    [InlineData("yes", true)]
    [InlineData("Yes", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    [InlineData("On", true)]
    [InlineData("ON", true)]
    [InlineData("false", false)]
    [InlineData("False", false)]
    [InlineData("no", false)]
    [InlineData("NO", false)]
    [InlineData("off", false)]
    [InlineData("Off", false)]
    [InlineData("y", "y")]
    [InlineData("n", "n")]
    [InlineData("tRUE", "tRUE")]
    // integers
    [InlineData("0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("-42", -42L)]
    [InlineData("+42", 42L)]
    [InlineData("1_000", 1000L)]
    [InlineData("0x1F", 31L)]
    [InlineData("-0x1f", -31L)]
    [InlineData("017", 15L)]
    [InlineData("0b101", 5L)]
    [InlineData("1:30", 90L)]
    [InlineData("190:20:30", 685230L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("0o17", "0o17")]
    [InlineData("08", "08")]
    [InlineData("09:30", "09:30")]
    // floats
    [InlineData("1.5", 1.5)]
    [InlineData("-1.5", -1.5)]
    [InlineData("1.", 1.0)]
    [InlineData(".5", 0.5)]
    [InlineData("1_000.5", 1000.5)]
    [InlineData("1.0e+3", 1000.0)]
    [InlineData("1.5E-2", 0.015)]
    [InlineData("1:30.5", 90.5)]
    [InlineData("1e3", "1e3")]
    [InlineData("1.0e3", "1.0e3")]
    [InlineData("-.5", "-.5")]
    // quoted and tagged scalars
    [InlineData("\"42\"", "42")]
    [InlineData("'yes'", "yes")]
    [InlineData("\"\"", "")]
    [InlineData("\"~\"", "~")]
    [InlineData("!!str 42", "42")]
    [InlineData("!!int \"42\"", 42L)]
    [InlineData("!!float 1", 1.0)]
    [InlineData("!!bool \"yes\"", true)]
    [InlineData("! 42", "42")]
    // everything else is a string
    [InlineData("hello world", "hello world")]
    [InlineData("2024-01-01", "2024-01-01")]
    [InlineData("12:30:00x", "12:30:00x")]
    public void Plain_scalar_gets_the_type_PyYAML_gives_it(string yaml, object? expected)
    {
        Assert.Equal(expected, Load(yaml));
    }

    [Fact]
    public void Integer_beyond_long_is_kept_exact_as_Python_keeps_it()
    {
        Assert.Equal(System.Numerics.BigInteger.Pow(10, 20), Load("100000000000000000000"));
        Assert.Equal(-System.Numerics.BigInteger.Pow(2, 64), Load("-0x1_0000_0000_0000_0000"));
    }

    [Fact]
    public void Nested_maps_and_lists_keep_file_order_and_types()
    {
        var value = Load("{z: 1, a: [x, 2, {k: ~}], m: {b: true}}");

        var map = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(value);
        Assert.Equal(["z", "a", "m"], map.Keys);
        var list = Assert.IsAssignableFrom<IReadOnlyList<object?>>(map["a"]);
        Assert.Equal("x", list[0]);
        Assert.Equal(2L, list[1]);
        Assert.Null(Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(list[2])["k"]);
        Assert.Equal(true, Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(map["m"])["b"]);
    }

    [Fact]
    public void Non_string_keys_of_a_nested_map_become_the_text_Loom_sends()
    {
        // Loom's model_dump(mode="json") writes them so (pydantic writes a null key as Python's str(None)).
        var value = Load("{1: a, 0x10: b, yes: c, ~: d, 1.50: e, name: f}");

        var map = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(value);
        Assert.Equal(["1", "16", "true", "None", "1.5", "name"], map.Keys);
    }

    [Fact]
    public void Keys_that_become_the_same_text_are_duplicates()
    {
        var result = ConfigLoader.LoadText(
            "name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    task: {worker_type: w, payload: {v: {1: a, \"1\": b}}}\n", "t.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Equal("schedules[0].task.payload.v.1", error.Path);
        Assert.Contains("duplicate key \"1\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plain_date_stays_text_with_a_note_that_PyYAML_reads_a_date()
    {
        var result = ConfigLoader.LoadText(
            "name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    task: {worker_type: w, payload: {since: 2024-01-01}}\n", "t.yaml");

        Assert.True(result.Success);
        Assert.Equal("2024-01-01", Assert.IsType<TaskTemplate>(result.Config!.Schedules[0].Template).Payload["since"]);
        var note = Assert.Single(result.Notes);
        Assert.Equal("schedules[0].task.payload.since", note.Path);
        Assert.Contains("quote it", note.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plain_equals_sign_is_rejected_because_PyYAML_cannot_load_it()
    {
        var result = ConfigLoader.LoadText(
            "name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    task: {worker_type: w, payload: {op: =}}\n", "t.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Equal("schedules[0].task.payload.op", error.Path);
        Assert.Contains("quote it", error.Message, StringComparison.Ordinal);
    }
}
