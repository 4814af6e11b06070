using Ladder.Caching.PostgreSql.Tests.Support;
using static Ladder.Caching.PostgreSql.Tests.Support.Changes;

namespace Ladder.Caching.PostgreSql.Tests;

/// <summary>
/// bigserial numbers commit out of order: transaction A takes 5, B takes 6, B commits first. A reader that sees 6
/// before 5 must neither skip 5 for ever nor apply 6 first.
/// </summary>
public sealed class OrderingTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task OutOfOrderCommits_TheLaterNumberWaitsForTheEarlier_AndBothAreApplied(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var reader = await TestNode.StartAsync(db, "reader", ct);

        await using var connectionA = await writer.DataSource.OpenConnectionAsync(ct);
        await using var a = await connectionA.BeginTransactionAsync(ct);
        var sequenceA = await writer.Backplane.PublishInTransactionAsync(a, [Marked("A")], ct);
        await using var connectionB = await writer.DataSource.OpenConnectionAsync(ct);
        await using var b = await connectionB.BeginTransactionAsync(ct);
        var sequenceB = await writer.Backplane.PublishInTransactionAsync(b, [Marked("B")], ct);
        sequenceB.Should().Be(sequenceA + 1);

        await b.CommitAsync(ct);
        await reader.WaitForStateAsync(s => s.HoleFrom == sequenceA, ct);
        reader.Subscriber.Keys.Should().BeEmpty("B must not be applied before A, which is still open");
        reader.Backplane.Position.Should().Be(sequenceA - 1);

        await a.CommitAsync(ct);
        await reader.Backplane.WaitForSequenceAsync(sequenceB, TimeSpan.FromSeconds(30), ct);
        reader.Subscriber.Keys.Should().Equal("A", "B");
    }

    /// <summary>
    /// The case a snapshot's xmax gets wrong: B takes its transaction id first, H takes a later id but the lower
    /// number, B commits. xmax is then one past B's id, not past H's, and H, still running, is the snapshot's xmin.
    /// </summary>
    [Test]
    [CancelAfter(60_000)]
    public async Task OutOfOrderCommits_TheOpenHolderHasTheHigherTransactionId_TheLaterRowStillWaits(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        var rechecks = 0;
        var twoRechecks = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Ladder.Caching" && instrument.Name == "ladder.caching.backplane.catch_ups")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "reason", Value: "hole" } && Interlocked.Increment(ref rechecks) >= 2)
                {
                    twoRechecks.TrySetResult();
                }
            }
        });
        listener.Start();
        await using var reader = await TestNode.StartAsync(db, "reader", ct);

        await using var connectionB = await writer.DataSource.OpenConnectionAsync(ct);
        await using var b = await connectionB.BeginTransactionAsync(ct);
        await using (var takeId = new Npgsql.NpgsqlCommand("SELECT pg_current_xact_id()", connectionB, b))
        {
            await takeId.ExecuteScalarAsync(ct); // B's id is taken before H's
        }

        await using var connectionH = await writer.DataSource.OpenConnectionAsync(ct);
        await using var h = await connectionH.BeginTransactionAsync(ct);
        var sequenceH = await writer.Backplane.PublishInTransactionAsync(h, [Marked("H")], ct);
        var sequenceB = await writer.Backplane.PublishInTransactionAsync(b, [Marked("B")], ct);
        sequenceB.Should().Be(sequenceH + 1);
        await b.CommitAsync(ct);

        await reader.WaitForStateAsync(s => s.HoleFrom == sequenceH, ct);
        await twoRechecks.Task.WaitAsync(ct);
        reader.Subscriber.Keys.Should().BeEmpty("H is still open, so B must wait behind it");

        await h.CommitAsync(ct);
        await reader.Backplane.WaitForSequenceAsync(sequenceB, TimeSpan.FromSeconds(30), ct);
        reader.Subscriber.Keys.Should().Equal("H", "B");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task OutOfOrderCommits_TheEarlierRollsBack_TheLaterIsAppliedOnceTheHoleIsProvedEmpty(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var reader = await TestNode.StartAsync(db, "reader", ct);

        await using var connectionA = await writer.DataSource.OpenConnectionAsync(ct);
        await using var a = await connectionA.BeginTransactionAsync(ct);
        var sequenceA = await writer.Backplane.PublishInTransactionAsync(a, [Marked("A")], ct);
        var sequenceB = await writer.PublishInTransactionAsync(ct, Marked("B"));
        await reader.WaitForStateAsync(s => s.HoleFrom == sequenceA, ct);

        await a.RollbackAsync(ct);
        await reader.Backplane.WaitForSequenceAsync(sequenceB, TimeSpan.FromSeconds(30), ct);
        reader.Subscriber.Keys.Should().Equal("B");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task NodeStart_WhileATransactionHoldsAnEarlierNumber_AppliesItWhenItCommits(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var connectionA = await writer.DataSource.OpenConnectionAsync(ct);
        await using var a = await connectionA.BeginTransactionAsync(ct);
        var sequenceA = await writer.Backplane.PublishInTransactionAsync(a, [Marked("A")], ct);
        var sequenceB = await writer.PublishInTransactionAsync(ct, Marked("B"));

        // The new node starts at the end of the log (B), below which A is still open.
        await using var late = await TestNode.StartAsync(db, "late", ct);
        late.Backplane.Position.Should().Be(sequenceB);
        late.Backplane.State.WindowOpen.Should().BeTrue();
        var waitForA = late.Backplane.WaitForSequenceAsync(sequenceA, TimeSpan.FromSeconds(30), ct);
        waitForA.IsCompleted.Should().BeFalse("A has not committed, so this node cannot have applied it");

        await a.CommitAsync(ct);
        await waitForA;
        late.Subscriber.Keys.Should().Equal("A");
        await late.WaitForStateAsync(s => !s.WindowOpen, ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task NodeStart_AChangeCommitsAfterTheCacheSubscribedButBeforeTheStartPosition_IsNotLost(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);

        // The new node's listener checks the schema under this advisory lock before it reads its start position:
        // holding it keeps the node before that read while its cache is already subscribed (and may load).
        await using var lockConnection = await writer.DataSource.OpenConnectionAsync(ct);
        await using var hold = await lockConnection.BeginTransactionAsync(ct);
        await using (var command = new Npgsql.NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('ladder-cache-schema:ladder.cache_changes'))", lockConnection, hold))
        {
            await command.ExecuteNonQueryAsync(ct);
        }

        await using var dataSource = Npgsql.NpgsqlDataSource.Create(db);
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { PruneInterval = Timeout.InfiniteTimeSpan });
        var subscriber = new RecordingSubscriber("late");
        using var subscription = backplane.Subscribe(subscriber);

        // Committed after the cache subscribed (a value it loaded before is now stale), before the node's start read.
        var sequence = await writer.PublishInTransactionAsync(ct, Marked("C"));
        await hold.RollbackAsync(ct);
        await backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(30), ct);

        (subscriber.Keys.Contains("C") || subscriber.FullInvalidations > 0).Should().BeTrue(
            "the cache may hold a value loaded before C committed, so the node must apply C or invalidate everything");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task NodeStart_ALaterRowArrivesBeforeTheStartWindowsRow_WaitingForItAlsoWaitsForTheEarlierRow(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var connectionW = await writer.DataSource.OpenConnectionAsync(ct);
        await using var w = await connectionW.BeginTransactionAsync(ct);
        var sequenceW = await writer.Backplane.PublishInTransactionAsync(w, [Marked("W")], ct);
        var start = await writer.PublishInTransactionAsync(ct, Marked("start"));

        // Two connections: the listener's and one the test holds, so the reader's catch-up cannot read the log.
        await using var reader = await TestNode.StartAsync(db + ";Maximum Pool Size=2", "reader", ct);
        reader.Backplane.Position.Should().Be(start);
        reader.Backplane.State.WindowOpen.Should().BeTrue();
        var held = await reader.DataSource.OpenConnectionAsync(ct);

        // W (below the start position) commits first, then S: S arrives in its notification's payload and is applied
        // at once; W needs a read of the log.
        await w.CommitAsync(ct);
        var sequenceS = await writer.PublishInTransactionAsync(ct, Marked("S"));
        var waitForS = reader.Backplane.WaitForSequenceAsync(sequenceS, TimeSpan.FromSeconds(30), ct);
        await reader.WaitForStateAsync(s => s.Position >= sequenceS, ct);
        reader.Subscriber.Keys.Should().Equal("S");
        waitForS.IsCompleted.Should().BeFalse("W is below S, committed before it, and is not applied yet");

        await held.DisposeAsync();
        await waitForS;
        reader.Subscriber.Keys.Should().Equal("S", "W");
        sequenceW.Should().BeLessThan(start);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task NodeStart_TheStartWindowsRowIsPrunedBeforeTheNodeReadsIt_TheNodeInvalidatesEverything(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct, o => o.RetentionMaxRows = 1);
        await using var connectionW = await writer.DataSource.OpenConnectionAsync(ct);
        await using var w = await connectionW.BeginTransactionAsync(ct);
        var sequenceW = await writer.Backplane.PublishInTransactionAsync(w, [Marked("W")], ct);
        var start = await writer.PublishInTransactionAsync(ct, Marked("start"));

        // Two connections: the listener's and one the test holds, so the reader's catch-up cannot read the log.
        await using var reader = await TestNode.StartAsync(db + ";Maximum Pool Size=2", "reader", ct);
        reader.Backplane.State.WindowOpen.Should().BeTrue();
        var held = await reader.DataSource.OpenConnectionAsync(ct);

        // W commits, and is pruned (the row limit keeps only the newest) before the reader's window reads it; the
        // mark stays below the reader's position, so only the window can notice.
        await w.CommitAsync(ct);
        (await writer.Backplane.PruneAsync(ct)).Should().Be((int)(start - 1));
        sequenceW.Should().Be(start - 1);

        await held.DisposeAsync();
        await reader.WaitForStateAsync(s => !s.WindowOpen, ct);
        (reader.Subscriber.Keys.Contains("W") || reader.Subscriber.FullInvalidations > 0).Should().BeTrue(
            "W committed after the reader started and its row is gone: the reader must have applied it or invalidated everything");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ConcurrentTransactions_CommittingInRandomOrder_AreAllAppliedOnceInSequenceOrder(CancellationToken ct)
    {
        const int Writers = 8;
        const int PerWriter = 25;
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var reader = await TestNode.StartAsync(db, "reader", ct);
        var committed = new System.Collections.Concurrent.ConcurrentBag<(long Sequence, string Key)>();
        var rolledBack = 0;

        using var gate = new SemaphoreSlim(0);
        var tasks = Enumerable.Range(0, Writers).Select(w => Task.Run(
            async () =>
            {
                await gate.WaitAsync(ct);
                for (var i = 0; i < PerWriter; i++)
                {
                    var key = $"w{w}-{i}";
                    await using var connection = await writer.DataSource.OpenConnectionAsync(ct);
                    await using var transaction = await connection.BeginTransactionAsync(ct);
                    var sequence = await writer.Backplane.PublishInTransactionAsync(transaction, [Marked(key)], ct);
                    // A random pause between the number and the commit reorders the commits; some roll back.
                    await using (var pause = new Npgsql.NpgsqlCommand($"SELECT pg_sleep({Random.Shared.Next(0, 20) / 1000.0:0.000})", connection, transaction))
                    {
                        await pause.ExecuteNonQueryAsync(ct);
                    }

                    if (Random.Shared.Next(10) == 0)
                    {
                        await transaction.RollbackAsync(ct);
                        Interlocked.Increment(ref rolledBack);
                        continue;
                    }

                    await transaction.CommitAsync(ct);
                    committed.Add((sequence, key));
                }
            },
            ct)).ToArray();
        gate.Release(Writers);
        await Task.WhenAll(tasks);

        var last = await writer.PublishInTransactionAsync(ct, Marked("last"));
        await reader.Backplane.WaitForSequenceAsync(last, TimeSpan.FromSeconds(60), ct);

        var expected = committed.OrderBy(c => c.Sequence).Select(c => c.Key).Append("last").ToArray();
        reader.Subscriber.Keys.Should().Equal(expected, "every committed row exactly once, in sequence order ({0} rolled back)", rolledBack);
        reader.Subscriber.FullInvalidations.Should().Be(0);
    }
}
