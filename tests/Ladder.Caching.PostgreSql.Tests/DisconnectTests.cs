using System.Diagnostics.Metrics;
using Ladder.Caching.PostgreSql.Tests.Support;
using Ladder.PostgreSql.Testing;
using Microsoft.Extensions.Time.Testing;
using static Ladder.Caching.PostgreSql.Tests.Support.Changes;

namespace Ladder.Caching.PostgreSql.Tests;

public sealed class DisconnectTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task ListenerTerminated_ChangesPublishedWhileDisconnected_AreCaughtUpFromTheLog(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        // The reader's reconnect backoff runs on a fake clock: it stays disconnected until the test moves time.
        var time = new FakeTimeProvider();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var reader = await TestNode.StartAsync(db, "reader", ct, time: time);

        (await Server.Instance.TerminateBackendsAsync(reader.ListenerName, ct)).Should().Be(1);
        await reader.WaitForStateAsync(s => !s.Listening, ct);
        writer.Publish(Marked("missed", 30));
        var sequence = await writer.Backplane.FlushAsync(ct);
        var missed = await writer.PublishInTransactionAsync(ct, Marked("missed-outbox"));
        reader.Subscriber.Keys.Should().BeEmpty("the reader is disconnected");

        var started = TimeProvider.System.GetTimestamp();
        time.Advance(TimeSpan.FromSeconds(1));
        await reader.Backplane.WaitForSequenceAsync(missed, TimeSpan.FromSeconds(30), ct);
        TestContext.Progress.WriteLine($"catch-up after pg_terminate_backend: {TimeProvider.System.GetElapsedTime(started).TotalMilliseconds:F1} ms for {missed - sequence + 1} rows");

        reader.Subscriber.Changes.Should().Equal([.. Marked("missed", 30), Marked("missed-outbox")]);
        reader.Subscriber.FullInvalidations.Should().Be(0, "the log still held every missed row");
        reader.Backplane.State.Listening.Should().BeTrue();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ListenerTerminated_AValueCachedBeforeAChangeItMissed_IsNotServedAfterTheCatchUp(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        var ratings = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal) { ["42"] = 1500 };
        var time = new FakeTimeProvider();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(db);
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { ListenerApplicationName = "cache-listener", PruneInterval = Timeout.InfiniteTimeSpan }, time);
        using var cache = new LadderCache(
            new LadderCachingOptions()
                .Entity("player", "mmr")
                .View<string, int>("rating", view => view.DependsOn("player", id => id, "mmr").Load(id => ratings[id])),
            backplane: backplane);
        await backplane.StartAsync(ct);
        var view = cache.View<string, int>("rating");
        (await view.GetAsync("42", ct)).Should().Be(1500);

        await Server.Instance.TerminateBackendsAsync("cache-listener", ct);
        while (true)
        {
            var changed = backplane.StateChanged; // taken before the check: a change in between still wakes us
            if (!backplane.State.Listening)
            {
                break;
            }

            await changed.WaitAsync(ct);
        }

        ratings["42"] = 1540; // committed while the node is disconnected
        var missed = await writer.PublishInTransactionAsync(ct, new Change("player", "42", "mmr"));
        (await view.GetAsync("42", ct)).Should().Be(1500, "the node has not heard of the change yet (and says so: its position is behind)");
        backplane.Position.Should().BeLessThan(missed);

        time.Advance(TimeSpan.FromSeconds(1));
        await backplane.WaitForSequenceAsync(missed, TimeSpan.FromSeconds(30), ct);
        (await view.GetAsync("42", ct)).Should().Be(1540);
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task ServerRestart_ChangesPublishedAroundIt_AreAllAppliedWithoutAFullInvalidation(CancellationToken ct)
    {
        await using var server = await PostgresServer.StartAsync(cancellationToken: ct);
        var db = await Server.NewDatabaseAsync(server);
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var reader = await TestNode.StartAsync(db, "reader", ct);

        writer.Publish(Marked("before", 10));
        var before = await writer.Backplane.FlushAsync(ct);
        await reader.Backplane.WaitForSequenceAsync(before, TimeSpan.FromSeconds(30), ct);

        // Published while the server restarts: queued by the writer, written when it is back.
        var restart = server.RestartAsync("fast", ct);
        writer.Publish(Marked("during", 10));
        await restart;
        var started = TimeProvider.System.GetTimestamp();
        writer.Publish(Marked("after", 10));
        var after = await writer.Backplane.FlushAsync(ct);
        await reader.Backplane.WaitForSequenceAsync(after, TimeSpan.FromSeconds(60), ct);
        TestContext.Progress.WriteLine($"applied on the reader {TimeProvider.System.GetElapsedTime(started).TotalMilliseconds:F0} ms after the restart finished");

        reader.Subscriber.Changes.Should().Equal([.. Marked("before", 10), .. Marked("during", 10), .. Marked("after", 10)]);
        reader.Subscriber.FullInvalidations.Should().Be(0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task LogPrunedPastANodesPosition_TheNodeInvalidatesEverything_AndSaysSo(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        var time = new FakeTimeProvider();
        await using var writer = await TestNode.StartAsync(db, "writer", ct, o => o.RetentionMaxRows = 1);
        await using var reader = await TestNode.StartAsync(db, "reader", ct, time: time);
        var flagged = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Ladder.Caching" && instrument.Name == "ladder.caching.backplane.full_invalidations")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref flagged, value));
        listener.Start();

        await Server.Instance.TerminateBackendsAsync(reader.ListenerName, ct);
        await reader.WaitForStateAsync(s => !s.Listening, ct);
        for (var i = 0; i < 5; i++)
        {
            await writer.PublishInTransactionAsync(ct, Marked($"pruned-{i}"));
        }

        var kept = await writer.PublishInTransactionAsync(ct, Marked("kept"));
        (await writer.Backplane.PruneAsync(ct)).Should().Be(5);

        time.Advance(TimeSpan.FromSeconds(1));
        await reader.Backplane.WaitForSequenceAsync(kept, TimeSpan.FromSeconds(30), ct);

        reader.Subscriber.FullInvalidations.Should().Be(1);
        reader.Subscriber.Keys.Should().Equal("kept");
        Interlocked.Read(ref flagged).Should().BeGreaterThanOrEqualTo(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Prune_WhileATransactionHoldsAnOlderNumber_KeepsTheRowsAfterIt_AndTheNodeAppliesItWhenItCommits(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct, o => o.RetentionMaxRows = 1);
        await using var reader = await TestNode.StartAsync(db, "reader", ct);

        // A takes its number and stays open; three rows after it commit, so the row limit alone would prune past A.
        await using var connection = await writer.DataSource.OpenConnectionAsync(ct);
        await using var a = await connection.BeginTransactionAsync(ct);
        var sequenceA = await writer.Backplane.PublishInTransactionAsync(a, [Marked("A")], ct);
        var last = 0L;
        for (var i = 0; i < 3; i++)
        {
            last = await writer.PublishInTransactionAsync(ct, Marked($"after-{i}"));
        }

        await reader.WaitForStateAsync(s => s.HoleFrom == sequenceA, ct);
        (await writer.Backplane.PruneAsync(ct)).Should().Be(0, "A may still commit, so no number at or after it may be pruned yet");

        await a.CommitAsync(ct);
        await reader.Backplane.WaitForSequenceAsync(last, TimeSpan.FromSeconds(30), ct);
        reader.Subscriber.Keys.Should().Equal("A", "after-0", "after-1", "after-2");
        reader.Subscriber.FullInvalidations.Should().Be(0);

        // Once A has finished, the next prune may delete up to the row limit.
        (await writer.Backplane.PruneAsync(ct)).Should().Be(3);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Prune_KeepsRowsWithinTheRetention_AndNodesThatKeptUpInvalidateNothing(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var reader = await TestNode.StartAsync(db, "reader", ct, o => o.RetentionMaxRows = 2);

        var last = 0L;
        for (var i = 0; i < 5; i++)
        {
            last = await writer.PublishInTransactionAsync(ct, Marked($"k{i}"));
        }

        await reader.Backplane.WaitForSequenceAsync(last, TimeSpan.FromSeconds(30), ct);
        (await writer.Backplane.PruneAsync(ct)).Should().Be(0, "nothing is a day old and a million rows are allowed");
        (await reader.Backplane.PruneAsync(ct)).Should().Be(3);

        var next = await writer.PublishInTransactionAsync(ct, Marked("next"));
        await reader.Backplane.WaitForSequenceAsync(next, TimeSpan.FromSeconds(30), ct);
        reader.Subscriber.FullInvalidations.Should().Be(0);
    }
}
