using Ladder.Caching.PostgreSql.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using static Ladder.Caching.PostgreSql.Tests.Support.Changes;

namespace Ladder.Caching.PostgreSql.Tests;

/// <summary>What a real <see cref="LadderCache"/> and its backplane log at a start and at a reconnect.</summary>
public sealed class StartLoggingTests
{
    // Ladder.Caching's "the backplane reconnected: every view is invalidated" warning.
    private const int ReconnectedWarning = 5006;

    [Test]
    [CancelAfter(60_000)]
    public async Task Start_AfterTheCacheSubscribed_LogsTheStart_AndNoReconnectWarning(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        using var logs = new RecordingLoggerFactory();
        await using var dataSource = NpgsqlDataSource.Create(db);
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { PruneInterval = Timeout.InfiniteTimeSpan }, loggerFactory: logs);
        using var cache = NewCache(backplane, logs);

        // The cache subscribed in its constructor (as when it is resolved before the host starts the backplane).
        await backplane.StartAsync(ct);

        logs.Of(5114).Should().ContainSingle("the start invalidates what the cache may have loaded before it, once");
        logs.Of(ReconnectedWarning).Should().BeEmpty("a first connect is not a reconnect");
        logs.Of(5010).Should().ContainSingle().Which.Level.Should().Be(LogLevel.Debug);
        logs.Entries.Should().NotContain(e => e.Level >= LogLevel.Warning);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Reconnect_WithTheLogIntact_CatchesUpWithoutInvalidatingEverything(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        var time = new FakeTimeProvider();
        using var logs = new RecordingLoggerFactory();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var dataSource = NpgsqlDataSource.Create(db);
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { ListenerApplicationName = "cache-listener", PruneInterval = Timeout.InfiniteTimeSpan }, time, logs);
        using var cache = NewCache(backplane, logs);
        await backplane.StartAsync(ct);

        await Server.Instance.TerminateBackendsAsync("cache-listener", ct);
        await logs.WaitForAsync(5101, ct);
        var missed = await writer.PublishInTransactionAsync(ct, Marked("missed"));
        time.Advance(TimeSpan.FromSeconds(1));
        await backplane.WaitForSequenceAsync(missed, TimeSpan.FromSeconds(30), ct);

        logs.Of(5101).Should().ContainSingle().Which.Level.Should().Be(LogLevel.Warning);
        logs.Of(ReconnectedWarning).Should().BeEmpty("the log still held the missed row: nothing was lost");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Reconnect_AfterTheLogWasPrunedPastTheNode_WarnsThatEveryViewIsInvalidated(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        var time = new FakeTimeProvider();
        using var logs = new RecordingLoggerFactory();
        await using var writer = await TestNode.StartAsync(db, "writer", ct, o => o.RetentionMaxRows = 1);
        await using var dataSource = NpgsqlDataSource.Create(db);
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { ListenerApplicationName = "cache-listener", PruneInterval = Timeout.InfiniteTimeSpan }, time, logs);
        using var cache = NewCache(backplane, logs);
        await backplane.StartAsync(ct);

        await Server.Instance.TerminateBackendsAsync("cache-listener", ct);
        await logs.WaitForAsync(5101, ct);
        for (var i = 0; i < 3; i++)
        {
            await writer.PublishInTransactionAsync(ct, Marked($"pruned-{i}"));
        }

        var kept = await writer.PublishInTransactionAsync(ct, Marked("kept"));
        (await writer.Backplane.PruneAsync(ct)).Should().Be(3);
        time.Advance(TimeSpan.FromSeconds(1));
        await backplane.WaitForSequenceAsync(kept, TimeSpan.FromSeconds(30), ct);

        logs.Of(5104).Should().ContainSingle();
        logs.Of(ReconnectedWarning).Should().ContainSingle("changes were missed while disconnected").Which.Level.Should().Be(LogLevel.Warning);
        logs.Of(5010).Should().ContainSingle("only the first connect was a start");
    }

    private static LadderCache NewCache(PostgresBackplane backplane, ILoggerFactory logs) =>
        new(
            new LadderCachingOptions()
                .Entity("player", "mmr")
                .View<string, int>("rating", view => view.DependsOn("player", id => id, "mmr").Load(_ => 1500)),
            loggerFactory: logs,
            backplane: backplane);
}
