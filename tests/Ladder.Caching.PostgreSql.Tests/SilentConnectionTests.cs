using System.Collections.Concurrent;
using Ladder.Caching.PostgreSql.Tests.Support;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Tests;

public sealed class SilentConnectionTests
{
    [Test]
    [CancelAfter(90_000)]
    public async Task ListenerConnectionGoesSilent_ChangesPublishedMeanwhile_AreCaughtUpAfterTheProbe_AndNoValueIsStale(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var relay = new SilentRelay(Server.Instance.Port);
        var throughRelay = new NpgsqlConnectionStringBuilder(db) { Host = "127.0.0.1", Port = relay.Port, ApplicationName = "silent-node" }.ConnectionString;
        var ratings = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var keys = Enumerable.Range(1, 5).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        foreach (var key in keys)
        {
            ratings[key] = 1500;
        }

        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var dataSource = NpgsqlDataSource.Create(throughRelay);
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions
        {
            ListenerApplicationName = "silent-listener",
            ListenerProbeInterval = TimeSpan.FromSeconds(1),
            ListenerProbeTimeout = TimeSpan.FromSeconds(1),
            ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
            PruneInterval = Timeout.InfiniteTimeSpan,
        });
        using var cache = new LadderCache(
            new LadderCachingOptions()
                .Entity("player", "mmr")
                .View<string, int>("rating", view => view.DependsOn("player", id => id, "mmr").Load(id => ratings[id])),
            backplane: backplane);
        await backplane.StartAsync(ct);
        var view = cache.View<string, int>("rating");
        foreach (var key in keys)
        {
            (await view.GetAsync(key, ct)).Should().Be(1500);
        }

        // The listener's flow goes silent (no reset, no FIN, no answer). Idle pooled connections are closed, as a
        // pool would after such a drop, so the node's reads after the reconnect open fresh, working flows.
        relay.Silence().Should().BeGreaterThanOrEqualTo(1);
        dataSource.Clear();
        var missed = 0L;
        foreach (var key in keys)
        {
            ratings[key] = 1540;
            missed = await writer.PublishInTransactionAsync(ct, new Change("player", key, "mmr"));
        }

        // Bounded by the probe interval (1 s) + the probe timeout (1 s) + Npgsql's cancellation timeout (2 s) + a
        // reconnect; the ceiling is generous for a loaded machine. Before the probe this waited for ever.
        await backplane.WaitForSequenceAsync(missed, TimeSpan.FromSeconds(30), ct);

        var stale = 0;
        foreach (var key in keys)
        {
            if (await view.GetAsync(key, ct) != 1540)
            {
                stale++;
            }
        }

        stale.Should().Be(0);
        backplane.State.Listening.Should().BeTrue();
        relay.Accepted.Should().BeGreaterThan(1, "the listener reconnected through the relay");
    }
}
