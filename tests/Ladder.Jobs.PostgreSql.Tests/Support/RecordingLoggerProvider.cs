using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.PostgreSql.Tests.Support;

/// <summary>Keeps every log entry (event id, level, message) for assertions.</summary>
internal sealed class RecordingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(int EventId, LogLevel Level, string Message)> Entries { get; } = new();

    public int Count(int eventId) => Entries.Count(e => e.EventId == eventId);

    /// <summary>Raised after each entry is kept (tests wait on it instead of polling).</summary>
    public event Action<(int EventId, LogLevel Level, string Message)>? Logged;

    /// <summary>Completes at the next entry (logged after this call) that satisfies <paramref name="condition"/>.</summary>
    public Task<(int EventId, LogLevel Level, string Message)> NextAsync(Func<(int EventId, LogLevel Level, string Message), bool> condition, CancellationToken cancellationToken)
    {
        var found = new TaskCompletionSource<(int, LogLevel, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLogged((int EventId, LogLevel Level, string Message) entry)
        {
            if (condition(entry) && found.TrySetResult(entry))
            {
                Logged -= OnLogged;
            }
        }

        Logged += OnLogged;
        return found.Task.WaitAsync(cancellationToken);
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var entry = (eventId.Id, logLevel, formatter(state, exception));
            owner.Entries.Enqueue(entry);
            owner.Logged?.Invoke(entry);
        }
    }
}
