using LoomSched.Config;

namespace LoomSched.Core.Tests.Config;

/// <summary>
/// <c>wire: bare | envelope</c>, and the notes for a subject prefix whose consumers read the other wire.
/// </summary>
public sealed class WireConfigFacts
{
    private const string Schedules = "schedules:\n  - name: a\n    interval_seconds: 1\n    task: {worker_type: w}\n";

    private static ConfigLoadResult Load(string top) => ConfigLoader.LoadText("name: t\n" + top + Schedules, "t.yaml");

    [Theory]
    [InlineData("", WireFormat.Bare)]
    [InlineData("wire: bare\n", WireFormat.Bare)]
    [InlineData("wire: envelope\nsubject_prefix: heddle\n", WireFormat.Envelope)]
    public void The_wire_is_bare_unless_the_config_says_envelope(string top, WireFormat wire)
    {
        var result = Load(top);

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal(wire, result.Config!.Wire);
        Assert.Empty(result.Notes);
    }

    [Fact]
    public void The_heddle_prefix_on_the_bare_wire_loads_with_a_note_at_the_prefix_that_heddle_wants_the_envelope()
    {
        var result = Load("subject_prefix: heddle\n");

        Assert.True(result.Success);
        var note = Assert.Single(result.Notes);
        Assert.Equal(("subject_prefix", 2, 17), (note.Path, note.Location.Line, note.Location.Column));
        Assert.Contains("current heddle consumers accept only enveloped messages", note.Message, StringComparison.Ordinal);
        Assert.Contains("wire: envelope", note.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_heddle_prefix_with_an_explicit_bare_wire_has_its_note_at_the_wire()
    {
        var note = Assert.Single(Load("subject_prefix: heddle\nwire: bare\n").Notes);

        Assert.Equal(("wire", 3), (note.Path, note.Location.Line));
    }

    [Fact]
    public void The_loom_prefix_on_the_envelope_wire_loads_with_a_note_that_Loom_reads_bare_messages()
    {
        var result = Load("wire: envelope\n");

        Assert.True(result.Success);
        var note = Assert.Single(result.Notes);
        Assert.Equal("wire", note.Path);
        Assert.Contains("Loom's consumers read bare messages only", note.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_prefix_takes_either_wire_without_a_note()
    {
        Assert.Empty(Load("subject_prefix: site1.heddle\nwire: envelope\n").Notes);
        Assert.Empty(Load("subject_prefix: site1.heddle\nwire: bare\n").Notes);
    }
}
