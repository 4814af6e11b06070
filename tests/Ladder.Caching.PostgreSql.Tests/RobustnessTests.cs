using Ladder.Caching.PostgreSql.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using static Ladder.Caching.PostgreSql.Tests.Support.Changes;

namespace Ladder.Caching.PostgreSql.Tests;

public sealed class RobustnessTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task MalformedNotificationAndRow_AreReportedNotApplied_AndAnUnreadableRowInvalidatesEverything(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var reader = await TestNode.StartAsync(db, "reader", ct);

        // A stranger's NOTIFY on the channel, and a row nobody can read.
        await using (var garbage = writer.DataSource.CreateCommand(
            "NOTIFY ladder_cache, 'not a sequence'; INSERT INTO ladder.cache_changes (kind, node, changes) VALUES ('a', 'stranger', '{not json')"))
        {
            await garbage.ExecuteNonQueryAsync(ct);
        }

        var next = await writer.PublishInTransactionAsync(ct, Marked("after-garbage"));
        await reader.Backplane.WaitForSequenceAsync(next, TimeSpan.FromSeconds(30), ct);

        reader.Subscriber.Keys.Should().Equal("after-garbage");
        reader.Subscriber.FullInvalidations.Should().Be(1, "what the unreadable row changed is unknown");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CatchUp_MoreRowsThanOneRead_ReadsThemAllInOrder(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        var time = new FakeTimeProvider();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var reader = await TestNode.StartAsync(db, "reader", ct, o => o.CatchUpBatchSize = 2, time);

        await Server.Instance.TerminateBackendsAsync(reader.ListenerName, ct);
        await reader.WaitForStateAsync(s => !s.Listening, ct);
        var last = 0L;
        for (var i = 0; i < 7; i++)
        {
            last = await writer.PublishInTransactionAsync(ct, Marked($"k{i}"));
        }

        time.Advance(TimeSpan.FromSeconds(1));
        await reader.Backplane.WaitForSequenceAsync(last, TimeSpan.FromSeconds(30), ct);
        reader.Subscriber.Keys.Should().Equal("k0", "k1", "k2", "k3", "k4", "k5", "k6");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Dispose_Twice_IsHarmless_AndASendAfterItNeitherThrowsNorWrites(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        var node = await TestNode.StartAsync(db, "a", ct);
        node.Publish(Marked("before"));
        var written = await node.Backplane.FlushAsync(ct);

        await node.Backplane.DisposeAsync();
        await node.Backplane.DisposeAsync();
        var send = () => node.Publish(Marked("after"));
        send.Should().NotThrow();

        await using var count = node.DataSource.CreateCommand("SELECT count(*), max(seq) FROM ladder.cache_changes");
        await using (var reader = await count.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            reader.GetInt64(0).Should().Be(1);
            reader.GetInt64(1).Should().Be(written);
        }

        await node.DisposeAsync();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Dispose_WithChangesStillQueued_WritesThemBeforeItReturns(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var reader = await TestNode.StartAsync(db, "reader", ct);
        // A fake clock: the window never ends by itself, and neither does the shutdown timeout.
        var writer = await TestNode.StartAsync(db, "writer", ct, o => o.PublishWindow = TimeSpan.FromSeconds(30), new FakeTimeProvider());

        writer.Publish(Marked("queued", 5));
        await writer.Backplane.WindowEntered.WaitAsync(ct);
        await writer.DisposeAsync().AsTask().WaitAsync(ct); // the window is cut short: disposing writes what is queued

        await reader.Subscriber.WaitForKeysAsync(Marked("queued", 5).Select(c => c.Key!), ct);
        reader.Subscriber.Changes.Should().Equal(Marked("queued", 5));
    }
}
