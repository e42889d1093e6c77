using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LoomSched.Config;
using LoomSched.Dispatch;
using NATS.Client.Core;

namespace LoomSched.Daemon;

/// <summary>The <c>--json</c> forms of <c>validate</c>, <c>next</c> and <c>watch</c>, written without reflection.</summary>
internal static class CliJson
{
    /// <summary>Writes one JSON document (indented, for people and jq alike) and a newline on stdout.</summary>
    public static void Print(Action<Utf8JsonWriter> write) => Print(write, ReadableJson.Indented);

    private static void Print(Action<Utf8JsonWriter> write, JsonWriterOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, options))
        {
            write(w);
        }
        using var stdout = Console.OpenStandardOutput();
        stdout.Write(buffer.WrittenSpan);
        stdout.Write("\n"u8);
        stdout.Flush();
    }

    /// <summary>One diagnostic: where (file, line, column, key), how bad (error or note), and what.</summary>
    public static void Diagnostic(Utf8JsonWriter w, ConfigDiagnostic d, string severity)
    {
        w.WriteStartObject();
        w.WriteString("severity", severity);
        w.WriteString("file", d.Location.File);
        w.WriteNumber("line", d.Location.Line);
        w.WriteNumber("column", d.Location.Column);
        w.WriteString("key", d.Path);
        w.WriteString("message", d.Message);
        w.WriteEndObject();
    }

    /// <summary>A slot as <c>next</c> prints it: in the schedule's zone, with its offset.</summary>
    public static string Slot(DateTimeOffset slot) =>
        slot.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFzzz", CultureInfo.InvariantCulture);

    /// <summary>
    /// A message as <c>watch --json</c> prints it, one JSON line with its line break: the body as JSON when it is JSON,
    /// else as text. Whoever publishes on the subject writes it: what text mode escapes is escaped here too.
    /// </summary>
    public static byte[] Message(NatsMsg<byte[]> msg, DateTimeOffset receivedAt)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, ReadableJson.OneLine))
        {
            w.WriteStartObject();
            w.WriteString("subject", msg.Subject);
            w.WriteString("received_at", LoomTime.Format(receivedAt));
            w.WriteStartObject("headers");
            foreach (var (name, values) in msg.Headers ?? [])
            {
                w.WriteString(name, values.ToString());
            }
            w.WriteEndObject();
            var data = msg.Data ?? [];
            if (IsJson(data))
            {
                // The publisher's own JSON, kept as written but for what would break the line or reverse it.
                w.WritePropertyName("data");
                w.WriteRawValue(ReadableJson.OneLineRaw(data), skipInputValidation: true);
            }
            else
            {
                w.WriteString("text", Encoding.UTF8.GetString(data));
            }
            w.WriteEndObject();
        }
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static bool IsJson(byte[] data)
    {
        if (data.Length == 0)
        {
            return false;
        }
        var reader = new Utf8JsonReader(data);
        try
        {
            reader.Read();
            reader.Skip();
            return !reader.Read(); // one value and nothing after it
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
