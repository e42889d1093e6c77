using LoomSched.Generators.Analyzers;
using LoomSched.Generators.Tests.Support;
using Microsoft.CodeAnalysis;

namespace LoomSched.Generators.Tests.Analyzers;

/// <summary>LSCH004: an expand_from in a YAML AdditionalFile that names no function is reported on the YAML value.</summary>
public class UnknownExpandFromFacts
{
    private static readonly string Functions = GeneratorOutputFacts.InClass("""
        [ExpansionFunction("json_file")] public static List<Dictionary<string, object?>> Json() => [];
        [ExpansionFunction("sessions.active")] public static List<Dictionary<string, object?>> Sessions() => [];
        """);

    private const string Config = """
        name: default_scheduler
        schedules:
          - name: per_session_poll
            interval_seconds: 30
            dispatch_type: task
            task: {worker_type: poller}
            expand_from: json_fil
          - name: fine
            cron: "0 * * * *"
            expand_from: sessions.active
        """;

    [Fact]
    public async Task An_unknown_name_is_reported_at_its_line_and_column_with_the_nearest_name_suggested()
    {
        var diagnostic = Assert.Single(await Analyze(Functions, new InMemoryAdditionalText("/cfg/scheduler.yaml", Config)));

        Assert.Equal("LSCH004", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal("/cfg/scheduler.yaml", span.Path);
        Assert.Equal((6, 17), (span.StartLinePosition.Line, span.StartLinePosition.Character)); // line 7, column 18 one-based
        Assert.Equal((6, 25), (span.EndLinePosition.Line, span.EndLinePosition.Character));
        Assert.Equal("expand_from names 'json_fil', which is not a registered expansion function; did you mean 'json_file'?", diagnostic.GetMessage());
        Assert.Equal("json_fil", Config.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
    }

    [Fact]
    public async Task A_name_far_from_every_known_name_lists_the_registered_names_instead()
    {
        var diagnostic = Assert.Single(await Analyze(Functions, new InMemoryAdditionalText("a.yml", "schedules:\n- expand_from: zzz\n")));

        Assert.Equal("expand_from names 'zzz', which is not a registered expansion function; registered: json_file, sessions.active", diagnostic.GetMessage());
    }

    [Fact]
    public async Task With_no_functions_at_all_the_message_says_so()
    {
        var diagnostic = Assert.Single(await Analyze(GeneratorOutputFacts.InClass(""), new InMemoryAdditionalText("a.yaml", "schedules:\n- expand_from: x\n")));

        Assert.EndsWith("; no expansion functions are registered in this project or its references", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_quoted_value_is_reported_at_its_opening_quote()
    {
        var diagnostic = Assert.Single(await Analyze(Functions, new InMemoryAdditionalText("q.yaml", "schedules:\n  - name: a\n    expand_from: \"jsonfile\"  # typo\n")));

        var start = diagnostic.Location.GetLineSpan().StartLinePosition;
        Assert.Equal((2, 17), (start.Line, start.Character));
        Assert.Contains("did you mean 'json_file'?", diagnostic.GetMessage(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_unknown_name_in_every_yaml_file_is_reported_and_other_files_are_ignored()
    {
        var diagnostics = await Analyze(
            Functions,
            new InMemoryAdditionalText("one.yaml", "schedules:\n- {name: a, expand_from: nope1}\n- {name: b, expand_from: nope2}\n"),
            new InMemoryAdditionalText("two.YML", "schedules:\n- expand_from: nope3\n"),
            new InMemoryAdditionalText("notes.txt", "expand_from: nope4\n"));

        Assert.Equal(["nope1", "nope2", "nope3"], diagnostics.Select(d => d.GetMessage().Split('\'')[1]).Order().ToArray());
    }

    [Fact]
    public async Task Known_names_and_free_form_data_are_not_reported()
    {
        var yaml = """
            schedules:
              - name: a
                expand_from: json_file
                expand_args: {expand_from: not_a_reference}
                goal:
                  instruction: x
                  context:
                    expand_from: also_data
            """;

        Assert.Empty(await Analyze(Functions, new InMemoryAdditionalText("ok.yaml", yaml)));
    }

    [Fact]
    public async Task An_unreadable_yaml_file_is_skipped_without_an_analyzer_failure()
    {
        var diagnostics = await Analyze(Functions, new ThrowingAdditionalText("broken.yaml"), new InMemoryAdditionalText("b.yaml", "schedules:\n- expand_from: nope\n"));

        Assert.Single(diagnostics); // b.yaml still reported; AnalyzeAsync asserts no AD0001
    }

    [Fact]
    public async Task Yaml_files_that_are_not_scheduler_configs_are_not_checked()
    {
        // A compose file and a CI workflow beside the configs: no top-level schedules, so their expand_from are theirs.
        var diagnostics = await Analyze(
            Functions,
            new InMemoryAdditionalText("docker-compose.yaml", "services:\n  worker:\n    environment:\n      expand_from: whatever\n"),
            new InMemoryAdditionalText("ci.yml", "jobs:\n  build:\n    with: {expand_from: '${{ matrix.fn }}'}\n"),
            new InMemoryAdditionalText("quoted.yaml", "\"schedules\" :\n  - expand_from: nope\n"),
            new InMemoryAdditionalText("flow.yaml", "{schedules: [{name: a, expand_from: nope_flow}]}\n"));

        Assert.Equal(["nope", "nope_flow"], diagnostics.Select(d => d.GetMessage().Split('\'')[1]).Order().ToArray());
    }

    [Fact]
    public async Task Without_yaml_files_nothing_is_reported() => Assert.Empty(await Analyze(Functions));

    private static Task<IReadOnlyList<Diagnostic>> Analyze(string source, params AdditionalText[] files) =>
        GeneratorHarness.AnalyzeAsync(GeneratorHarness.Compile(source), new UnknownExpandFromAnalyzer(), files);

    private sealed class ThrowingAdditionalText(string path) : AdditionalText
    {
        public override string Path { get; } = path;

        public override Microsoft.CodeAnalysis.Text.SourceText GetText(CancellationToken cancellationToken = default) =>
            throw new IOException("disk on fire");
    }
}
