using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Ladder.Caching.PostgreSql.Tests.Support;

/// <summary>Keeps every log entry (event id, level, message) of every logger it creates, for assertions.</summary>
internal sealed class RecordingLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<(int EventId, LogLevel Level, string Message)> _entries = new();
    private readonly SemaphoreSlim _logged = new(0);

    public IReadOnlyList<(int EventId, LogLevel Level, string Message)> Entries => [.. _entries];

    /// <summary>The entries with <paramref name="eventId"/>.</summary>
    public IReadOnlyList<(int EventId, LogLevel Level, string Message)> Of(int eventId) => [.. _entries.Where(e => e.EventId == eventId)];

    public async Task WaitForAsync(int eventId, CancellationToken cancellationToken)
    {
        while (!_entries.Any(e => e.EventId == eventId))
        {
            await _logged.WaitAsync(cancellationToken);
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose() => _logged.Dispose();

    private sealed class Logger(RecordingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            owner._entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));
            owner._logged.Release();
        }
    }
}
