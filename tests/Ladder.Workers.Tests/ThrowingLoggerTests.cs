using Microsoft.Extensions.Logging;

namespace Ladder.Workers.Tests;

/// <summary>
/// A logging provider that fails (a full disk under a file sink) makes <c>Logger.Log</c> throw. The pool logs in the
/// middle of its own bookkeeping (a start, a settle, a fault): a failing log must cost the log entry, never the pool.
/// </summary>
public sealed class ThrowingLoggerTests
{
    private const int WorkerStartedEvent = 4000;

    [Test, CancelAfter(90_000)]
    public async Task Start_WhenTheLoggerThrowsOnce_ThePoolStillReachesFullStrength(CancellationToken ct)
    {
        var logger = new ThrowOnceLogger(WorkerStartedEvent);
        await using var pool = new WorkerPool(Support.Options(spare: false), logger);

        await pool.WhenReadyAsync(ct).WaitAsync(TimeSpan.FromSeconds(45), ct);

        logger.Thrown.Should().BeTrue("the logger threw while the worker's start was logged");
        pool.GetStats().Workers.Should().Be(1);
        (await pool.PidAsync().WaitAsync(TimeSpan.FromSeconds(30), ct)).Should().BePositive();
    }

    /// <summary>A logger that throws the first time it is asked to write <c>eventId</c> (every level is enabled).</summary>
    private sealed class ThrowOnceLogger(int eventId) : ILogger<WorkerPool>
    {
        private int _armed = 1;

        public bool Thrown => Volatile.Read(ref _armed) == 0;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId1, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId1.Id == eventId && Interlocked.Exchange(ref _armed, 0) == 1)
            {
                throw new AggregateException("injected: an error occurred while writing to logger(s)");
            }
        }
    }
}
