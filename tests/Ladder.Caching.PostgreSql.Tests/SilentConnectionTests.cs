using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Ladder.Caching.PostgreSql.Tests.Support;
using Ladder.PostgreSql.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using static Ladder.Caching.PostgreSql.Tests.Support.Changes;

namespace Ladder.Caching.PostgreSql.Tests;

public sealed class SilentConnectionTests
{
    [Test]
    [CancelAfter(90_000)]
    public async Task ListenerConnectionGoesSilent_ChangesPublishedMeanwhile_AreCaughtUpAfterTheProbe_AndNoValueIsStale(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var relay = new LoopbackRelay(Server.Instance.Port);
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
        var silenced = TimeProvider.System.GetTimestamp();
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
        TestContext.Progress.WriteLine($"caught up {TimeProvider.System.GetElapsedTime(silenced).TotalMilliseconds:F0} ms after the listener's flow went silent");

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

    [Test]
    [CancelAfter(60_000)]
    public async Task QuietListener_ARowWhoseNotifyNeverArrived_IsCaughtUpByTheProbe_WithoutAReconnect(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        // The reader's probe interval runs on a fake clock: it probes only when the test moves time.
        var time = new FakeTimeProvider();
        var probeFailures = 0L;
        var reconnects = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Ladder.Caching" && instrument.Name is "ladder.caching.backplane.probe_failures" or "ladder.caching.backplane.reconnects")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            Interlocked.Add(ref instrument.Name == "ladder.caching.backplane.reconnects" ? ref reconnects : ref probeFailures, value));
        listener.Start();
        await using var writer = await TestNode.StartAsync(db, "writer", ct);
        await using var reader = await TestNode.StartAsync(db, "reader", ct, o => o.ListenerProbeInterval = TimeSpan.FromSeconds(10), time);
        var first = await writer.PublishInTransactionAsync(ct, Marked("notified"));
        await reader.Backplane.WaitForSequenceAsync(first, Timeout.InfiniteTimeSpan, ct);

        // A row committed without a NOTIFY: what a lost notification looks like to the reader.
        await using (var connection = await writer.DataSource.OpenConnectionAsync(ct))
        await using (var insert = new NpgsqlCommand("INSERT INTO ladder.cache_changes (kind, node, changes) SELECT kind, node, changes FROM ladder.cache_changes WHERE seq = $1 RETURNING seq", connection))
        {
            insert.Parameters.AddWithValue(first);
            var lost = (long)(await insert.ExecuteScalarAsync(ct))!;
            var applied = reader.Backplane.WaitForSequenceAsync(lost, Timeout.InfiniteTimeSpan, ct);

            // The listener may be between two waits when the clock moves, so move it again until the probe has run;
            // each step is a full interval, and the ceiling is the test's.
            while (!applied.IsCompleted)
            {
                time.Advance(TimeSpan.FromSeconds(10));
                await Task.WhenAny(applied, reader.Backplane.StateChanged.WaitAsync(TimeSpan.FromMilliseconds(500), ct).ContinueWith(static _ => { }, TaskScheduler.Default));
            }

            await applied;
        }

        reader.Subscriber.Changes.Should().Equal([Marked("notified"), Marked("notified")]);
        reader.Subscriber.FullInvalidations.Should().Be(0);
        reader.Backplane.State.Listening.Should().BeTrue();
        Interlocked.Read(ref probeFailures).Should().Be(0, "the connection is healthy: the probes answered");
        Interlocked.Read(ref reconnects).Should().Be(0);
    }
}
