using System.Buffers;
using System.Text;
using System.Text.Json;
using LoomSched.Dispatch;
using Microsoft.Extensions.Logging;

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
/// in configuration binding we do not need). Writes are serialised so lines never interleave.
/// </summary>
internal sealed class LineLoggerProvider(LogFormat format, LogLevel minimum, TimeProvider time) : ILoggerProvider
{
    private static readonly Lock Gate = new();
    private static readonly Stream Stderr = Console.OpenStandardError();

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    public void Dispose()
    {
        lock (Gate)
        {
            Stderr.Flush();
        }
    }

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

    private sealed class LineLogger(LineLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum(category) && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            string when = LoomTime.Format(owner._time.GetUtcNow());
            string message = formatter(state, exception);
            byte[] line;
            if (owner._format == LogFormat.Json)
            {
                var buffer = new ArrayBufferWriter<byte>(256);
                using (var w = new Utf8JsonWriter(buffer))
                {
                    w.WriteStartObject();
                    w.WriteString("time", when);
                    w.WriteString("level", LevelName(logLevel));
                    w.WriteString("category", category);
                    if (eventId.Id != 0)
                    {
                        w.WriteNumber("event_id", eventId.Id);
                    }
                    w.WriteString("message", message);
                    if (state is IReadOnlyList<KeyValuePair<string, object?>> fields)
                    {
                        foreach (var (key, value) in fields)
                        {
                            if (key == "{OriginalFormat}")
                            {
                                continue;
                            }
                            w.WritePropertyName(SnakeCase(key));
                            WriteField(w, value);
                        }
                    }
                    if (exception is not null)
                    {
                        w.WriteString("exception", $"{exception.GetType().Name}: {exception.Message}");
                    }
                    w.WriteEndObject();
                }
                buffer.Write("\n"u8);
                line = buffer.WrittenSpan.ToArray();
            }
            else
            {
                var text = new StringBuilder(128).Append(when).Append(' ').Append(LevelName(logLevel)).Append(' ').Append(message);
                if (exception is not null)
                {
                    // A one-line reason, never a stack trace: these logs are read by operators.
                    text.Append(" (").Append(exception.GetType().Name).Append(": ").Append(exception.Message).Append(')');
                }
                line = Encoding.UTF8.GetBytes(text.Append('\n').ToString());
            }
            lock (Gate)
            {
                Stderr.Write(line);
                Stderr.Flush();
            }
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

    private readonly LogFormat _format = format;
    private readonly TimeProvider _time = time;

    // The NATS client is chatty at Information; its warnings and errors are what an operator needs.
    private LogLevel _minimum(string category) =>
        category.StartsWith("NATS", StringComparison.Ordinal) ? LogLevel.Warning : minimum;
}
