using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Ladder.Workers.Tests;

/// <summary>A worker's stderr is read in bounded pieces: a line with no end cannot grow the host's memory or its logs.</summary>
public sealed class StderrTests
{
    private const int StderrEvent = 4004;

    [Test, CancelAfter(60_000)]
    public async Task Stderr_AVeryLongLine_IsLoggedCut(CancellationToken ct)
    {
        var logger = new CapturingLogger();
        await using var pool = new WorkerPool(Support.Options(spare: false), logger);
        await pool.WhenReadyAsync(ct);
        var done = logger.WaitFor(m => m.EndsWith("flood done", StringComparison.Ordinal));

        await pool.InvokeAsync<FloodRequest, int>("stderr-flood", new FloodRequest(1_000_000, EndLine: true), Support.Generous, ct);
        await done.WaitAsync(TimeSpan.FromSeconds(30), ct);

        var lines = logger.Messages(StderrEvent);
        lines.Select(m => m.Length).Should().OnlyContain(length => length <= 2100, "a stderr line is logged cut, never whole");
        lines.Should().ContainSingle(m => m.Contains(new string('x', 100), StringComparison.Ordinal))
            .Which.Should().EndWith("…", "the rest of the line was dropped");
    }

    [Test, CancelAfter(60_000)]
    public async Task Stderr_ALineThatNeverEnds_IsLoggedWhileTheWorkerLives(CancellationToken ct)
    {
        var logger = new CapturingLogger();
        await using var pool = new WorkerPool(Support.Options(spare: false), logger);
        await pool.WhenReadyAsync(ct);
        var seen = logger.WaitFor(m => m.Contains(new string('x', 100), StringComparison.Ordinal));

        await pool.InvokeAsync<FloodRequest, int>("stderr-flood", new FloodRequest(100_000, EndLine: false), Support.Generous, ct);

        await seen.WaitAsync(TimeSpan.FromSeconds(30), ct);
        logger.Messages(StderrEvent).Select(m => m.Length).Should().OnlyContain(length => length <= 2100);
    }

    /// <summary>Keeps every message; signals the first one that matches a condition.</summary>
    private sealed class CapturingLogger : ILogger<WorkerPool>
    {
        private readonly ConcurrentQueue<(int EventId, string Message)> _messages = new();
        private readonly ConcurrentQueue<(Func<string, bool> Match, TaskCompletionSource Seen)> _waiters = new();

        public List<string> Messages(int eventId) => [.. _messages.Where(m => m.EventId == eventId).Select(m => m.Message)];

        public Task WaitFor(Func<string, bool> match)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue((match, seen));
            if (_messages.Any(m => match(m.Message)))
            {
                seen.TrySetResult();
            }

            return seen.Task;
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            _messages.Enqueue((eventId.Id, message));
            foreach (var (match, seen) in _waiters)
            {
                if (match(message))
                {
                    seen.TrySetResult();
                }
            }
        }
    }
}
