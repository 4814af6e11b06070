using Ladder.Jobs.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Tests;

/// <summary>Enqueueing against SQLite's write lock (enqueueing on every store is the contract suite's EnqueueContract).</summary>
public sealed class EnqueueTests : TempFolderTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Enqueue_WhileAnotherConnectionHoldsTheWriteLock_WaitsAndSucceeds(CancellationToken ct)
    {
        var path = Folder.File("jobs.db");
        await using var queue = JobQueue.Open(TestOptions.For(path));
        await using var other = new SqliteConnection($"Data Source={path};Pooling=false");
        other.Open();
        using (var command = other.CreateCommand())
        {
            command.CommandText = "BEGIN IMMEDIATE; INSERT INTO ladder_jobs(queue, kind, payload, state, run_at, max_attempts, created_at) VALUES('default', 'echo', '{\"n\":0}', 1, 0, 1, 0);";
            command.ExecuteNonQuery();
        }

        // The write lock is held: the enqueue meets SQLITE_BUSY, which is retried, never surfaced.
        var enqueue = queue.EnqueueAsync(new Echo(1), cancellationToken: ct);
        var finished = await Task.WhenAny(enqueue, Task.Delay(TimeSpan.FromMilliseconds(300), ct));
        finished.Should().NotBeSameAs(enqueue, "the other connection still holds the write lock");
        using (var command = other.CreateCommand())
        {
            command.CommandText = "COMMIT;";
            command.ExecuteNonQuery();
        }

        (await enqueue).Inserted.Should().BeTrue();
        (await queue.GetCountsAsync(ct)).Single().Count.Should().Be(2);
    }

    [Test]
    [Category("Soak")] // About 65 s: the lock must outlast the connection's own 60 s of waiting.
    [CancelAfter(240_000)]
    public async Task Enqueue_WhenTheWriteLockOutlastsTheBusyTimeout_IsRetried_EvenOnAFakeClock(CancellationToken ct)
    {
        var path = Folder.File("jobs.db");
        using var busy = new EventSignal(eventId: 3001);
        using var loggers = LoggerFactory.Create(b => b.AddProvider(busy));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var queue = JobQueue.Open(TestOptions.For(path), time, loggers);
        await using var other = new SqliteConnection($"Data Source={path};Pooling=false");
        other.Open();
        using (var command = other.CreateCommand())
        {
            command.CommandText = "BEGIN IMMEDIATE;";
            command.ExecuteNonQuery();
        }

        // Held past the writer connection's wait (busy_timeout, retried by Microsoft.Data.Sqlite up to its 60 s command
        // timeout): the statement fails with SQLITE_BUSY, and the writer retries the batch after a pause.
        var enqueue = queue.EnqueueAsync(new Echo(1), cancellationToken: ct);
        await busy.Logged.WaitAsync(ct);
        using (var command = other.CreateCommand())
        {
            command.CommandText = "COMMIT;";
            command.ExecuteNonQuery();
        }

        // The pause is in real time: nobody moves the fake clock, and the enqueue still completes.
        (await enqueue.WaitAsync(ct)).Inserted.Should().BeTrue();
        (await queue.GetCountsAsync(ct)).Single().Count.Should().Be(1);
    }

    /// <summary>A logger provider that signals the first log entry with the given event id.</summary>
    private sealed class EventSignal(int eventId) : ILoggerProvider, ILogger
    {
        private readonly TaskCompletionSource _logged = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Logged => _logged.Task;

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (id.Id == eventId)
            {
                _logged.TrySetResult();
            }
        }

        public void Dispose()
        {
        }
    }
}
