using System.Text.Encodings.Web;
using System.Text.Json;

namespace LoomSched.Config;

/// <summary>
/// JSON for people as much as for tools (a terminal, the journal, a stored entry), not for a web page: a quote reads
/// <c>\"</c> and an offset <c>+01:00</c>, not <c>\u0022</c> and <c>\u002B01:00</c>. Control characters are still escaped.
/// </summary>
public static class ReadableJson
{
    /// <summary>One line: a log line, a stream of messages, a stored value.</summary>
    public static readonly JsonWriterOptions OneLine = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Indented: a document printed for a person.</summary>
    public static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
