using System.Globalization;
using Ladder.Caching.PostgreSql.Tests.Support;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Tests;

/// <summary>Nodes in processes of their own: the staleness checker across three processes, and a writer killed after its commit.</summary>
public sealed class MultiProcessTests
{
    private const int Items = 10;

    [TestCase("after")]
    [TestCase("outbox")]
    [CancelAfter(120_000)]
    public async Task WriterAndTwoReaders_InThreeProcesses_NoReadReturnsAVersionOlderThanOneItHadApplied(string mode, CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await RunStalenessCheckAsync(Server.Instance, db, mode, updates: 200, chaos: false, ct);
    }

    /// <summary>The same check while the listeners are killed every 200 ms and the server restarts once, half-way.</summary>
    [TestCase("after")]
    [TestCase("outbox")]
    [Category("Soak")]
    [CancelAfter(600_000)]
    public async Task WriterAndTwoReaders_UnderListenerKillsAndAServerRestart_NoReadReturnsAVersionOlderThanOneItHadApplied(string mode, CancellationToken ct)
    {
        await using var server = await Ladder.PostgreSql.Testing.PostgresServer.StartAsync(cancellationToken: ct);
        var db = await Server.NewDatabaseAsync(server);
        var updates = string.Equals(Environment.GetEnvironmentVariable("LADDER_SOAK_SCALE"), "full", StringComparison.OrdinalIgnoreCase) ? 20_000 : 1_500;
        await RunStalenessCheckAsync(server, db, mode, updates, chaos: true, ct);
    }

    private static async Task RunStalenessCheckAsync(Ladder.PostgreSql.Testing.PostgresServer server, string db, string mode, int updates, bool chaos, CancellationToken ct)
    {
        await CreateItemsAsync(db, ct);
        var folder = Directory.CreateTempSubdirectory("ladder-pgcache-").FullName;
        try
        {
            using var readerA = NodeProcess.Start(db, "reader", Path.Combine(folder, "a.log"));
            using var readerB = NodeProcess.Start(db, "reader", Path.Combine(folder, "b.log"));
            await readerA.ReadLineStartingWithAsync("ready", ct);
            await readerB.ReadLineStartingWithAsync("ready", ct);

            var kills = 0;
            var restarted = false;
            using (var writer = NodeProcess.Start(db, "writer", mode, updates.ToString(CultureInfo.InvariantCulture), Items.ToString(CultureInfo.InvariantCulture)))
            {
                // The chaos begins once the writer's backplane has started: a start that meets a killed connection or a
                // restarting server fails (PostgresBackplane.StartAsync throws, as documented), and on a loaded machine
                // the writer could reach it only after the first kills (two fresh-clone CI runs' nodes died so).
                await writer.ReadLineStartingWithAsync("started", ct);
                var done = writer.ReadLineStartingWithAsync("done", ct);
                while (chaos && !done.IsCompleted)
                {
                    // Pacing the chaos, not waiting for an effect: whatever the nodes are doing, they must cope.
                    await Task.WhenAny(done, Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, ct));
                    kills += await server.TerminateBackendsAsync("ladder-cache-listener", ct);
                    if (!restarted && kills >= 10)
                    {
                        await server.RestartAsync("fast", ct);
                        restarted = true;
                    }
                }

                await done;
                (await writer.WaitForExitAsync(ct)).Should().Be(0);
            }

            if (chaos)
            {
                TestContext.Progress.WriteLine($"{mode}: {kills} listener connections killed, server restarted: {restarted}");
                restarted.Should().BeTrue("the run must have been long enough for the restart");
            }

            var versions = await LoadVersionsAsync(db, ct);
            versions.Should().HaveCount(updates);
            foreach (var (name, reader) in new[] { ("a", readerA), ("b", readerB) })
            {
                reader.CloseInput();
                var lag = (await reader.ReadLineStartingWithAsync("lag ", ct)).Split(' ');
                (await reader.WaitForExitAsync(ct)).Should().Be(0);
                var (reads, stale, checkedReads) = Check(Path.Combine(folder, $"{name}.log"), versions);
                TestContext.Progress.WriteLine($"{mode}, reader {name}: {reads} reads, {checkedReads} after an applied change of their item, {stale} stale; delivery lag p50 {lag[1]} ms, p99 {lag[2]} ms");
                stale.Should().Be(0);
                checkedReads.Should().BePositive("the check must have compared reads against applied changes");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task WriterKilledRightAfterCommittingAnInTransactionPublish_TheOtherNodesStillInvalidate(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await CreateItemsAsync(db, ct);
        await using var dataSource = NpgsqlDataSource.Create(db);
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { PruneInterval = Timeout.InfiniteTimeSpan });
        using var cache = new LadderCache(
            new LadderCachingOptions()
                .Entity("item", "version")
                .View<string, long>("item", view => view
                    .DependsOn("item", id => id, "version")
                    .Load(async (id, token) =>
                    {
                        await using var command = dataSource.CreateCommand("SELECT version FROM item WHERE id = $1");
                        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
                        return (long)(await command.ExecuteScalarAsync(token))!;
                    })),
            backplane: backplane);
        await backplane.StartAsync(ct);
        var view = cache.View<string, long>("item");
        (await view.GetAsync("item-3", ct)).Should().Be(0);

        long sequence;
        using (var writer = NodeProcess.Start(db, "crash-writer", "item-3"))
        {
            var line = await writer.ReadLineStartingWithAsync("committed ", ct);
            await writer.KillAsync(ct);
            sequence = long.Parse(line.AsSpan("committed ".Length), CultureInfo.InvariantCulture);
            writer.HasExited.Should().BeTrue();
        }

        await backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(30), ct);
        (await view.GetAsync("item-3", ct)).Should().Be(1, "the invalidation committed with the write, so the writer's death lost nothing");
    }

    private static async Task CreateItemsAsync(string db, CancellationToken ct)
    {
        await using var dataSource = NpgsqlDataSource.Create(db);
        await using var command = dataSource.CreateCommand(
            $"""
            CREATE TABLE item (id text PRIMARY KEY, version bigint NOT NULL);
            INSERT INTO item SELECT 'item-' || i, 0 FROM generate_series(0, {Items - 1}) i;
            CREATE TABLE versions (seq bigint NOT NULL, id text NOT NULL, version bigint NOT NULL);
            """);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<List<(long Sequence, string Id, long Version)>> LoadVersionsAsync(string db, CancellationToken ct)
    {
        await using var dataSource = NpgsqlDataSource.Create(db);
        await using var command = dataSource.CreateCommand("SELECT seq, id, version FROM versions ORDER BY seq");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var versions = new List<(long, string, long)>();
        while (await reader.ReadAsync(ct))
        {
            versions.Add((reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2)));
        }

        return versions;
    }

    // For each read: the newest version of its item whose change-log row the reader had applied before the read
    // began (position >= that row's sequence) must not be newer than the version the read returned.
    private static (int Reads, int Stale, int Checked) Check(string log, List<(long Sequence, string Id, long Version)> versions)
    {
        var byItem = versions.GroupBy(v => v.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.OrderBy(v => v.Sequence).ToArray(), StringComparer.Ordinal);
        int reads = 0, stale = 0, checkedReads = 0;
        foreach (var line in File.ReadLines(log))
        {
            var parts = line.Split(' ');
            var position = long.Parse(parts[0], CultureInfo.InvariantCulture);
            var id = parts[1];
            var version = long.Parse(parts[2], CultureInfo.InvariantCulture);
            reads++;
            if (!byItem.TryGetValue(id, out var rows))
            {
                continue;
            }

            var applied = rows.Where(r => r.Sequence <= position).Select(r => r.Version).DefaultIfEmpty(0).Max();
            if (applied > 0)
            {
                checkedReads++;
            }

            if (version < applied)
            {
                stale++;
            }
        }

        return (reads, stale, checkedReads);
    }
}
