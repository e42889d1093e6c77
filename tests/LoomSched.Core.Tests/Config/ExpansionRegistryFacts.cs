using LoomSched.Config;
using LoomSched.Expansion;

namespace LoomSched.Core.Tests.Config;

/// <summary>With a registry, <c>expand_from</c> must name a registered function and its arguments must pass its check.</summary>
public sealed class ExpansionRegistryFacts
{
    private static ValueTask<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?> Nothing(ExpansionContext context, CancellationToken ct) =>
        ValueTask.FromResult<IEnumerable<IEnumerable<KeyValuePair<string, object?>>>?>(null);

    private static IEnumerable<ExpansionArgError> RequirePath(IReadOnlyDictionary<string, object?> args)
    {
        if (!args.ContainsKey("path"))
        {
            yield return new ExpansionArgError("path", "is required: the file to read");
        }
        if (args.TryGetValue("limit", out object? limit) && limit is not long)
        {
            yield return new ExpansionArgError("limit", "must be a whole number");
        }
        if (args.Count > 2)
        {
            yield return new ExpansionArgError(null, "takes at most path and limit");
        }
    }

    private static ExpansionRegistry Registry() => new ExpansionRegistry()
        .Add("sessions.active", Nothing, "Test.Sessions")
        .Add("json_file", Nothing, "Test.JsonFile", RequirePath);

    private static ConfigLoadResult Load(string expansion, IExpansionRegistry? registry) =>
        ConfigLoader.LoadText(
            $"name: t\nschedules:\n  - name: a\n    interval_seconds: 1\n    task: {{worker_type: w}}\n{expansion}", "t.yaml", registry);

    [Fact]
    public void Registered_name_passes()
    {
        var result = Load("    expand_from: sessions.active\n", Registry());

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal("sessions.active", result.Config!.Schedules[0].ExpandFrom);
    }

    [Fact]
    public void Unknown_name_is_an_error_with_the_nearest_registered_name()
    {
        var result = Load("    expand_from: sessions.activ\n", Registry());

        var error = Assert.Single(result.Errors);
        Assert.Equal(("t.yaml", 6, 18), (error.Location.File, error.Location.Line, error.Location.Column));
        Assert.Equal("schedules[0].expand_from", error.Path);
        Assert.Equal("unknown expansion function \"sessions.activ\"; did you mean \"sessions.active\"?", error.Message);
    }

    [Fact]
    public void Unknown_name_with_nothing_near_lists_the_registered_names()
    {
        var result = Load("    expand_from: weather\n", Registry());

        Assert.Equal("unknown expansion function \"weather\"; registered: json_file, sessions.active", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public void Without_a_registry_expand_from_is_only_type_checked()
    {
        Assert.True(Load("    expand_from: anything.at.all\n", null).Success);
        Assert.Equal("schedules[0].expand_from", Assert.Single(Load("    expand_from: [a]\n", null).Errors).Path);
    }

    [Fact]
    public void Argument_errors_are_reported_at_their_key_or_the_map()
    {
        var result = Load("    expand_from: json_file\n    expand_args:\n      limit: ten\n      extra: 1\n      more: 2\n", Registry());

        Assert.Collection(
            result.Errors,
            e =>
            {
                Assert.Equal((8, 7), (e.Location.Line, e.Location.Column));
                Assert.Equal(("schedules[0].expand_args.path", "is required: the file to read"), (e.Path, e.Message));
            },
            e =>
            {
                Assert.Equal((8, 7), (e.Location.Line, e.Location.Column));
                Assert.Equal("schedules[0].expand_args", e.Path);
            },
            e =>
            {
                Assert.Equal((8, 14), (e.Location.Line, e.Location.Column));
                Assert.Equal(("schedules[0].expand_args.limit", "must be a whole number"), (e.Path, e.Message));
            });
    }

    [Fact]
    public void Valid_arguments_pass_the_check()
    {
        var result = Load("    expand_from: json_file\n    expand_args: {path: /tmp/x.json, limit: 5}\n", Registry());

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal("/tmp/x.json", result.Config!.Schedules[0].ExpandArgs["path"]);
    }

    [Fact]
    public void A_validator_that_throws_is_reported_not_thrown()
    {
        var registry = new ExpansionRegistry().Add("boom", Nothing, "Test.Boom", _ => throw new InvalidCastException("bad cast"));

        var error = Assert.Single(Load("    expand_from: boom\n    expand_args: {x: 1}\n", registry).Errors);

        Assert.Equal("schedules[0].expand_args", error.Path);
        Assert.Contains("bad cast", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_note_from_an_argument_check_loads_the_config_and_points_at_the_key()
    {
        var registry = new ExpansionRegistry().Add("lines", Nothing, "Test.Lines", args =>
            args.ContainsKey("kee") ? [new ExpansionArgError("kee", "'kee' is ignored (did you mean 'key'?)") { IsNote = true }] : []);

        var result = Load("    expand_from: lines\n    expand_args:\n      path: /tmp/x\n      kee: name\n", registry);

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal(
            "t.yaml:9:7: schedules[0].expand_args.kee: 'kee' is ignored (did you mean 'key'?)",
            Assert.Single(result.Notes).ToString());
    }
}
