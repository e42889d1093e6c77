using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LoomSched.Tests.Support;

/// <summary>A logger factory whose loggers keep every line (level, event id, text) in memory.</summary>
internal sealed class RecordingLogger : ILoggerFactory, ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, int EventId, string Text)> _lines = new();

    private readonly ConcurrentQueue<(int EventId, KeyValuePair<string, object?>[] Fields)> _fields = new();

    public IReadOnlyList<(LogLevel Level, int EventId, string Text)> Lines => [.. _lines];

    /// <summary>The named values of every line whose state has them (as a JSON log writes them), in order.</summary>
    public IReadOnlyList<(int EventId, KeyValuePair<string, object?>[] Fields)> Fields => [.. _fields];

    private readonly ConcurrentQueue<string> _categories = new();

    /// <summary>Every category a logger was made for, in order.</summary>
    public IReadOnlyList<string> Categories => [.. _categories];

    public ILogger CreateLogger(string categoryName)
    {
        _categories.Enqueue(categoryName);
        return this;
    }

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (state is IReadOnlyList<KeyValuePair<string, object?>> fields)
        {
            _fields.Enqueue((eventId.Id, [.. fields]));
        }
        _lines.Enqueue((logLevel, eventId.Id, formatter(state, exception)));
    }

    public void Dispose()
    {
    }
}
