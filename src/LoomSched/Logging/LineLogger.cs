using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using LoomSched.Config;
using LoomSched.Dispatch;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoomSched.Daemon.Logging;

/// <summary>How log lines are written on stderr.</summary>
internal enum LogFormat
{
    /// <summary><c>2026-11-27T03:00:00.001234Z info fired poll slot=...</c></summary>
    Text,
    /// <summary>One JSON object per line, the message template's values as properties.</summary>
    Json,
}

/// <summary>
/// One line per event on stderr, text or JSON. Small and reflection-free (the console logger packages pull
/// in configuration binding we do not need). A line is formatted on the logging thread into a reused buffer and
/// handed to a <see cref="LineSink"/>, which writes lines in the order they were logged, many per system call.
/// </summary>
internal sealed class LineLoggerProvider : ILoggerProvider
{
    private static readonly ConcurrentDictionary<string, JsonEncodedText> FieldNames = new(StringComparer.Ordinal);
    private static readonly JsonEncodedText TimeName = JsonEncodedText.Encode("time");
    private static readonly JsonEncodedText LevelKey = JsonEncodedText.Encode("level");
    private static readonly JsonEncodedText CategoryName = JsonEncodedText.Encode("category");
    private static readonly JsonEncodedText EventIdName = JsonEncodedText.Encode("event_id");
    private static readonly JsonEncodedText MessageName = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText ExceptionName = JsonEncodedText.Encode("exception");
    private static readonly JsonEncodedText StackTraceName = JsonEncodedText.Encode("stack_trace");

    [ThreadStatic] private static LineBuffer? t_buffer;

    private readonly LogFormat _format;
    private readonly LogLevel _minimum;
    private readonly TimeProvider _time;
    private readonly LineSink _sink;
    private readonly bool _journal = StderrIsTheJournal();

    public LineLoggerProvider(LogFormat format, LogLevel minimum, TimeProvider time)
    {
        _format = format;
        _minimum = minimum;
        _time = time;
        _sink = new LineSink(Console.OpenStandardError());
        // Lines still queued when the process exits without disposing the host are written, not lost.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => _sink.Dispose();
    }

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    public void Dispose() => _sink.Dispose();

    /// <summary>
    /// True when stderr is journald's stream: systemd sets JOURNAL_STREAM to its "device:inode", and the socket on fd 2
    /// has that inode. Lines then start with a syslog priority (<c>&lt;3&gt;</c> error …), which journald takes off and
    /// keeps, so that <c>journalctl -p err</c> finds the errors.
    /// </summary>
    internal static bool StderrIsTheJournal()
    {
        if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not { } stream || stream.IndexOf(':', StringComparison.Ordinal) is not (> 0 and int colon))
        {
            return false;
        }
        try
        {
            // /proc/self/fd/2 reads "socket:[INODE]" (or "pipe:[INODE]").
            string? target = new FileInfo("/proc/self/fd/2").LinkTarget;
            int open = target?.IndexOf('[', StringComparison.Ordinal) ?? -1;
            return open > 0 && target![(open + 1)..].TrimEnd(']') == stream[(colon + 1)..];
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The syslog priority journald reads at the start of a line.</summary>
    private static ReadOnlySpan<byte> Priority(LogLevel level) => level switch
    {
        LogLevel.Critical => "<2>"u8,
        LogLevel.Error => "<3>"u8,
        LogLevel.Warning => "<4>"u8,
        LogLevel.Information => "<6>"u8,
        _ => "<7>"u8,
    };

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        LogLevel.Critical => "fatal",
        _ => "none",
    };

    // The NATS client is chatty at Information; its warnings and errors are what an operator needs.
    private LogLevel MinimumFor(string category) =>
        category.StartsWith("NATS", StringComparison.Ordinal) ? LogLevel.Warning : _minimum;

    /// <summary>Per thread: the bytes of the line being formatted, and a JSON writer over them.</summary>
    private sealed class LineBuffer
    {
        public readonly ArrayBufferWriter<byte> Bytes = new(512);
        public readonly Utf8JsonWriter Json;

        public LineBuffer() => Json = new Utf8JsonWriter(Bytes, ReadableJson.OneLine);
    }

    private sealed class LineLogger(LineLoggerProvider owner, string category) : ILogger
    {
        private readonly LogLevel _minimum = owner.MinimumFor(category);
        private readonly JsonEncodedText _category = JsonEncodedText.Encode(category);
        private readonly bool _natsClient = category.StartsWith("NATS", StringComparison.Ordinal);

        // An expansion function's logger (category "expansion NAME (schedule S)"): its lines say whose they are, in
        // text too, where no category is written.
        private readonly string? _prefix = category.StartsWith("expansion ", StringComparison.Ordinal) ? category + ": " : null;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= _minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            // Log is compiled once per message shape (every [LoggerMessage] has its own TState): keep it this small
            // and the line's formatting in one shared method, or each shape carries a copy of it.
            var fields = owner._format == LogFormat.Json ? state as IReadOnlyList<KeyValuePair<string, object?>> : null;
            Write(logLevel, eventId, _prefix + formatter(state, exception), fields, exception);
        }

        private void Write(LogLevel logLevel, EventId eventId, string message, IReadOnlyList<KeyValuePair<string, object?>>? fields, Exception? exception)
        {
            Span<byte> when = stackalloc byte[LoomTime.MaxLength];
            when = when[..LoomTime.FormatUtf8(owner._time.GetUtcNow(), when)];
            var line = t_buffer ??= new LineBuffer();
            line.Bytes.ResetWrittenCount();
            if (owner._journal)
            {
                line.Bytes.Write(Priority(logLevel));
            }
            if (owner._format == LogFormat.Json)
            {
                var w = line.Json;
                w.Reset(line.Bytes);
                w.WriteStartObject();
                w.WriteString(TimeName, when);
                w.WriteString(LevelKey, LevelName(logLevel));
                w.WriteString(CategoryName, _category);
                if (eventId.Id != 0)
                {
                    w.WriteNumber(EventIdName, eventId.Id);
                }
                w.WriteString(MessageName, message);
                if (fields is not null)
                {
                    for (int i = 0; i < fields.Count; i++)
                    {
                        var (key, value) = fields[i];
                        if (key == "{OriginalFormat}")
                        {
                            continue;
                        }
                        w.WritePropertyName(FieldNames.GetOrAdd(key, static k => JsonEncodedText.Encode(SnakeCase(k))));
                        WriteField(w, value);
                    }
                }
                if (exception is not null)
                {
                    w.WriteString(ExceptionName, $"{exception.GetType().Name}: {exception.Message}");
                    if (Traced(logLevel, exception))
                    {
                        w.WriteString(StackTraceName, exception.ToString());
                    }
                }
                w.WriteEndObject();
                w.Flush();
            }
            else
            {
                line.Bytes.Write(when);
                Append(line.Bytes, " ");
                Append(line.Bytes, LevelName(logLevel));
                Append(line.Bytes, " ");
                // One event, one line: a line break in a message (an expansion's, a server's) cannot forge another.
                Append(line.Bytes, UserText.Escape(message));
                if (exception is not null)
                {
                    Append(line.Bytes, $" ({exception.GetType().Name}: {UserText.Escape(exception.Message)})");
                    if (Traced(logLevel, exception))
                    {
                        // An internal failure: the lines that follow say where, for whoever fixes it.
                        Append(line.Bytes, "\n    " + exception.ToString().ReplaceLineEndings("\n    "));
                    }
                }
            }
            line.Bytes.Write("\n"u8);
            owner._sink.Append(line.Bytes.WrittenSpan, durable: logLevel >= LogLevel.Error);
        }

        /// <summary>
        /// An error with an exception is a fault of loomsched's (a user's mistake is logged without one): it gets its
        /// stack trace. The NATS client's errors (a connection refused, a socket closed) are conditions, not faults;
        /// options an expansion service's validation refused are the operator's settings, said in their own words.
        /// </summary>
        private bool Traced(LogLevel level, Exception exception) =>
            level >= LogLevel.Error && exception.StackTrace is not null && !_natsClient && exception is not OptionsValidationException;

        private static void Append(ArrayBufferWriter<byte> bytes, string text)
        {
            int written = Encoding.UTF8.GetBytes(text, bytes.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length)));
            bytes.Advance(written);
        }

        private static void WriteField(Utf8JsonWriter w, object? value)
        {
            switch (value)
            {
                case null: w.WriteNullValue(); break;
                case string s: w.WriteStringValue(s); break;
                case bool b: w.WriteBooleanValue(b); break;
                case int i: w.WriteNumberValue(i); break;
                case long l: w.WriteNumberValue(l); break;
                case double d when double.IsFinite(d): w.WriteNumberValue(Math.Round(d, 3)); break;
                case DateTimeOffset t: w.WriteStringValue(LoomTime.Format(t)); break;
                default: w.WriteStringValue(value.ToString()); break;
            }
        }

        private static string SnakeCase(string name)
        {
            var sb = new StringBuilder(name.Length + 4);
            for (int i = 0; i < name.Length; i++)
            {
                char c = name[i];
                if (char.IsUpper(c))
                {
                    if (i > 0)
                    {
                        sb.Append('_');
                    }
                    sb.Append(char.ToLowerInvariant(c));
                }
                else
                {
                    sb.Append(c);
                }
            }
            return sb.ToString();
        }
    }
}
