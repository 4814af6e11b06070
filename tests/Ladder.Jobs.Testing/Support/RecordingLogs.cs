using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Testing;

/// <summary>A logger factory that keeps every entry (event id, level, message) for assertions.</summary>
internal sealed class RecordingLogs : ILoggerFactory, ILogger
{
    public ConcurrentQueue<(int EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public IEnumerable<string> Messages(int eventId) => Entries.Where(e => e.EventId == eventId).Select(e => e.Message);

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));

    public void Dispose()
    {
    }
}
