using Ladder.Caching.PostgreSql.Tests.Support;
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
        using var logs = new RecordingLoggerFactory();
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
}
