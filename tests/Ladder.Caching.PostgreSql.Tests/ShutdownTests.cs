using System.Collections.Concurrent;
using Ladder.Caching.PostgreSql.Tests.Support;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Tests;

public sealed class ShutdownTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task Dispose_WhileItsChangeIsBeingWrittenToAnUnreachableDatabase_LogsThatTheChangeWasNotWritten(CancellationToken ct)
    {
        await using var server = await Ladder.PostgreSql.Testing.PostgresServer.StartAsync(cancellationToken: ct);
        var db = await Server.NewDatabaseAsync(server);
        await using var dataSource = NpgsqlDataSource.Create(db);
        var logs = new RecordingLoggerFactory();
        var backplane = new PostgresBackplane(
            dataSource,
            new PostgresBackplaneOptions { ShutdownTimeout = TimeSpan.FromSeconds(1), ReconnectMinDelay = TimeSpan.FromMilliseconds(50), PruneInterval = Timeout.InfiniteTimeSpan },
            loggerFactory: logs);
        var subscriber = new RecordingSubscriber("a");
        using (backplane.Subscribe(subscriber))
        {
            await backplane.StartAsync(ct);
            await server.StopAsync(cancellationToken: ct);

            // The writer takes the change and retries it against the stopped server until the dispose gives up.
            backplane.Send(subscriber, [new Change("player", "42", "mmr")]);
            await logs.WaitForAsync(5102, ct);
            await backplane.DisposeAsync();
        }

        logs.Entries.Should().ContainSingle(e => e.EventId == 5111)
            .Which.Message.Should().Contain("1 changes");
    }

    private sealed class RecordingLoggerFactory : ILoggerFactory
    {
        private readonly ConcurrentQueue<(int EventId, string Message)> _entries = new();
        private readonly SemaphoreSlim _logged = new(0);

        public IReadOnlyList<(int EventId, string Message)> Entries => [.. _entries];

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
                owner._entries.Enqueue((eventId.Id, formatter(state, exception)));
                owner._logged.Release();
            }
        }
    }
}
