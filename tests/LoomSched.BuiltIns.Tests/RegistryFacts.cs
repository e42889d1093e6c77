using static LoomSched.BuiltIns.Tests.Support.Expansions;

namespace LoomSched.BuiltIns.Tests;

/// <summary>The BuiltIns assembly's generated registry holds the four built-ins, each with its validator.</summary>
public class RegistryFacts
{
    [Fact]
    public void The_generated_registry_holds_the_four_built_ins() =>
        Assert.Equal(["json_file", "lines_file", "nats_kv_keys", "range"], Registry.Names.ToArray());

    [Theory]
    [InlineData("json_file", "LoomSched.BuiltIns.JsonFileExpansion.Expand")]
    [InlineData("lines_file", "LoomSched.BuiltIns.LinesFileExpansion.Expand")]
    [InlineData("nats_kv_keys", "LoomSched.BuiltIns.NatsKvKeysExpansion.Expand")]
    [InlineData("range", "LoomSched.BuiltIns.RangeExpansion.Expand")]
    public void Each_built_in_names_its_origin_and_has_a_validator(string name, string origin)
    {
        Assert.True(Registry.TryGet(name, out var function));
        Assert.Equal(origin, function.Origin);
        Assert.NotNull(function.ValidateArgs);
    }

    [Theory]
    [InlineData("json_file", "path", "/x.json", "pth", "'pth' is ignored: json_file reads only 'path' (did you mean 'path'?)")]
    [InlineData("lines_file", "path", "/x.txt", "keys", "'keys' is ignored: lines_file reads only 'path', 'key' (did you mean 'key'?)")]
    [InlineData("nats_kv_keys", "bucket", "sessions", "filter", "'filter' is ignored: nats_kv_keys reads only 'bucket'")]
    [InlineData("range", "count", 3L, "limit", "'limit' is ignored: range reads only 'count'")]
    public void An_argument_a_built_in_does_not_read_is_a_note_not_an_error(
        string name, string key, object value, string unread, string message)
    {
        var problem = Assert.Single(Validate(name, Args((key, value), (unread, 1L))));

        Assert.True(problem.IsNote);
        Assert.Equal((unread, message), (problem.Key, problem.Message));
    }

    [Fact]
    public void The_assembly_announces_the_built_ins_to_assemblies_that_reference_it()
    {
        var attribute = Assert.Single(typeof(JsonFileExpansion).Assembly
            .GetCustomAttributes(typeof(LoomSched.Expansion.ExpansionFunctionLibraryAttribute), inherit: false)
            .Cast<LoomSched.Expansion.ExpansionFunctionLibraryAttribute>());

        Assert.Equal(["json_file", "lines_file", "nats_kv_keys", "range"], attribute.Names);
        Assert.Equal("LoomSched.Generated.ExpansionFunctions_LoomSched_BuiltIns", attribute.Provider.FullName);
    }
}
