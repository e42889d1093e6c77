using LoomSched.Config.Yaml;

namespace LoomSched.Config.Validation;

/// <summary>Collects every error and note of one load, each with its file location and key path.</summary>
internal sealed class Diagnostics(string file)
{
    private readonly List<ConfigDiagnostic> _errors = [];
    private readonly List<ConfigDiagnostic> _notes = [];

    public string File { get; } = file;

    public int ErrorCount => _errors.Count;

    // Messages quote what the file says (names, keys, values): escaped here, where every one is made, a quoted line
    // break cannot split a diagnostic in two (and forge a second one).
    public void Error(TextPosition at, string path, string message) =>
        _errors.Add(new ConfigDiagnostic(Locate(at), Shown(path), Shown(message)));

    public void Error(YamlNode at, string path, string message)
    {
        if (at is not ScalarNode { IsPlaceholder: true })
        {
            Error(at.Start, path, message);
        }
    }

    public void Note(YamlNode at, string path, string message) =>
        _notes.Add(new ConfigDiagnostic(Locate(at.Start), Shown(path), Shown(message)));

    /// <summary>For problems of the file as a whole (unreadable, too large): no line to point at.</summary>
    public void FileError(string message) => _errors.Add(new ConfigDiagnostic(new SourceLocation(File, 0, 0), "", Shown(message)));

    /// <summary>Errors in file order; the walk reports some (missing keys, duplicates) after later ones.</summary>
    public IReadOnlyList<ConfigDiagnostic> SortedErrors() => Sort(_errors);

    public IReadOnlyList<ConfigDiagnostic> SortedNotes() => Sort(_notes);

    private SourceLocation Locate(TextPosition at) => new(File, at.Line, at.Column);

    // A key path or message over the limit (a huge value or key quoted) is cut in the middle.
    private static string Shown(string text) => UserText.Escape(UserText.Elide(text, UserText.LongestShown));

    private static ConfigDiagnostic[] Sort(List<ConfigDiagnostic> list) =>
        // OrderBy is stable: diagnostics at one node keep the order they were found in.
        [.. list.OrderBy(d => d.Location.Line).ThenBy(d => d.Location.Column)];
}

/// <summary>Key paths as users read them: <c>schedules[3].task.worker_type</c>.</summary>
internal static class KeyPath
{
    public static string Child(string parent, string key) => parent.Length == 0 ? key : $"{parent}.{key}";

    public static string Index(string parent, int index) => $"{parent}[{index}]";
}
