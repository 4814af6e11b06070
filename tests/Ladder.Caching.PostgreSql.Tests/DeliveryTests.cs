using Ladder.Caching.PostgreSql.Tests.Support;
using static Ladder.Caching.PostgreSql.Tests.Support.Changes;

namespace Ladder.Caching.PostgreSql.Tests;

public sealed class DeliveryTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Publish_AfterCommit_IsAppliedOnTheOtherNodeAndNotBackOnItsOwn(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var a = await TestNode.StartAsync(db, "a", ct);
        await using var b = await TestNode.StartAsync(db, "b", ct);

        a.Publish(Marked("from-a"));
        var sequence = await a.Backplane.FlushAsync(ct);
        await b.Backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(30), ct);
        await a.Backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(30), ct);

        b.Subscriber.Changes.Should().Equal(Marked("from-a"));
        a.Subscriber.Changes.Should().BeEmpty("the publishing node applied its change when it published it");
        a.Backplane.Position.Should().Be(sequence, "a node advances past its own rows");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PublishInTransaction_IsAppliedOnEveryNodeIncludingThePublisher_OnlyAfterCommit(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var a = await TestNode.StartAsync(db, "a", ct);
        await using var b = await TestNode.StartAsync(db, "b", ct);

        await using var connection = await a.DataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var sequence = await a.Backplane.PublishInTransactionAsync(transaction, [Marked("outbox")], ct);

        // Not committed: a marker published after it (and committed) is held back behind it on every node.
        var marker = await b.PublishInTransactionAsync(ct, Marked("after"));
        marker.Should().Be(sequence + 1);
        await b.WaitForStateAsync(s => s.HoleFrom == sequence, ct);
        b.Subscriber.Changes.Should().BeEmpty();

        await transaction.CommitAsync(ct);
        await a.Backplane.WaitForSequenceAsync(marker, TimeSpan.FromSeconds(30), ct);
        await b.Backplane.WaitForSequenceAsync(marker, TimeSpan.FromSeconds(30), ct);

        a.Subscriber.Keys.Should().Equal("outbox", "after");
        b.Subscriber.Keys.Should().Equal("outbox", "after");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PublishInTransaction_RolledBack_IsAppliedNowhere(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var a = await TestNode.StartAsync(db, "a", ct);
        await using var b = await TestNode.StartAsync(db, "b", ct);

        await using (var connection = await a.DataSource.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            await a.Backplane.PublishInTransactionAsync(transaction, [Marked("rolled-back")], ct);
            await transaction.RollbackAsync(ct);
        }

        var marker = await a.PublishInTransactionAsync(ct, Marked("kept"));
        await b.Backplane.WaitForSequenceAsync(marker, TimeSpan.FromSeconds(30), ct);
        b.Subscriber.Keys.Should().Equal("kept");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ApplyLocally_AfterCommit_AppliesAtOnceAndTheRowAppliesAgainHarmlessly(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var a = await TestNode.StartAsync(db, "a", ct);

        var sequence = await a.PublishInTransactionAsync(ct, Marked("outbox"));
        a.Backplane.ApplyLocally([Marked("outbox")]);
        a.Subscriber.Keys.Should().Contain("outbox", "the explicit apply is synchronous (the notification may have come too)");

        await a.Backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(30), ct);
        a.Subscriber.Keys.Should().Equal("outbox", "outbox");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Publish_ManyWithinTheWindow_BecomeOneRowAndOneNotify(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        // A long window: 100 sends in a loop all fall inside it even on a busy machine.
        await using var a = await TestNode.StartAsync(db, "a", ct, o => o.PublishWindow = TimeSpan.FromSeconds(1));
        await using var b = await TestNode.StartAsync(db, "b", ct);

        foreach (var change in Marked("k", 100))
        {
            a.Publish(change);
        }

        var sequence = await a.Backplane.FlushAsync(ct);
        await b.Backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(30), ct);

        b.Subscriber.Changes.Should().Equal(Marked("k", 100));
        await using var count = a.DataSource.CreateCommand("SELECT count(*) FROM ladder.cache_changes");
        ((long)(await count.ExecuteScalarAsync(ct))!).Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Publish_ChangesTooBigForTheNotifyPayload_AreReadFromTheLog(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var a = await TestNode.StartAsync(db, "a", ct, o => o.MaxPayloadBytes = 100);
        await using var b = await TestNode.StartAsync(db, "b", ct);

        a.Publish(Marked("big", 50));
        var sequence = await a.Backplane.FlushAsync(ct);
        await b.Backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(30), ct);

        b.Subscriber.Changes.Should().Equal(Marked("big", 50));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WaitForSequence_NotYetPublished_TimesOutWithATypedException(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var a = await TestNode.StartAsync(db, "a", ct);

        var wait = () => a.Backplane.WaitForSequenceAsync(a.Backplane.Position + 1, TimeSpan.FromMilliseconds(50), ct);

        var thrown = await wait.Should().ThrowAsync<BackplaneWaitTimeoutException>();
        thrown.Which.Sequence.Should().Be(a.Backplane.Position + 1);
        thrown.Which.Timeout.Should().Be(TimeSpan.FromMilliseconds(50));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WaitForSequence_Cancelled_ThrowsOperationCanceledWithTheCallersToken(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var a = await TestNode.StartAsync(db, "a", ct);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var wait = a.Backplane.WaitForSequenceAsync(a.Backplane.Position + 1, Timeout.InfiniteTimeSpan, cancel.Token);
        await cancel.CancelAsync();

        var thrown = await wait.Invoking(w => w).Should().ThrowAsync<OperationCanceledException>();
        thrown.Which.CancellationToken.Should().Be(cancel.Token);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Send_WhileTheDatabaseIsUnreachable_NeitherBlocksNorThrows_AndIsWrittenLater(CancellationToken ct)
    {
        await using var server = await Ladder.PostgreSql.Testing.PostgresServer.StartAsync(cancellationToken: ct);
        var db = await Server.NewDatabaseAsync(server);
        await using var a = await TestNode.StartAsync(db, "a", ct);
        await using var b = await TestNode.StartAsync(db, "b", ct);

        await server.StopAsync(cancellationToken: ct);
        var send = () => a.Publish(Marked("while-down", 20));
        send.Should().NotThrow();
        await server.StartAgainAsync(ct);

        var sequence = await a.Backplane.FlushAsync(ct);
        await b.Backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(40), ct);
        b.Subscriber.Changes.Should().Equal(Marked("while-down", 20));
        b.Subscriber.FullInvalidations.Should().Be(0);
    }
}
