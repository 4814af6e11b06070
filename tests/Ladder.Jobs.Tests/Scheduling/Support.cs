using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Tests.Scheduling;

/// <summary>Keeps every log entry (event id, level, message).</summary>
internal sealed class RecordingLogs : ILoggerProvider, ILogger
{
    public ConcurrentQueue<(int Id, LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));

    public void Dispose()
    {
    }
}
