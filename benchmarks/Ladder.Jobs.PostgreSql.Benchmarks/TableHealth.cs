using System.Diagnostics;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// (d) Table health under a million-job burn-down of the raw loop: size and dead tuples with default autovacuum,
/// after purging finished jobs in batches, after VACUUM; then the same million flowing through a queue kept short
/// (a producer that keeps at most a backlog, a purger deleting finished jobs in batches every second), with default
/// and with tuned autovacuum settings.
/// </summary>
internal static class TableHealth
{
    public sealed record Stats(string When, long Rows, long Live, long Dead, long Table, long Heap, long Indexes, long Autovacuums);

    public const string Tuned = """
        ALTER TABLE ladder_jobs SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
            autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000,
            autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 10000)
        """;

    /// <summary>All jobs enqueued first, then burnt down; then purge in batches; then VACUUM.</summary>
    public static async Task<List<Stats>> UpFrontAsync(PostgresServer server, int jobs, int purgeBatch = 10_000)
    {
        var rows = new List<Stats>();
        var name = "health_upfront";
        await using var dataSource = await Bench.DatabaseAsync(server, name, maxPool: 8);
        await QueueSchema.CreateAsync(dataSource);
        var watch = Stopwatch.StartNew();
        await QueueSchema.EnqueueAsync(dataSource, jobs);
        var enqueued = watch.Elapsed;
        rows.Add(await StatsAsync(server, dataSource, $"after enqueueing {jobs:N0} ({enqueued.TotalSeconds:F0} s)"));
        var (elapsed, _, _, done) = await RawLoop.BurnDownAsync(dataSource, 4, 64, jobs);
        rows.Add(await StatsAsync(server, dataSource, $"after the burn-down ({done:N0} jobs in {elapsed.TotalSeconds:F0} s, {Bench.N(Bench.Rate(done, elapsed))} jobs/s)"));
        watch.Restart();
        var (deleted, batches) = await PurgeAsync(dataSource, purgeBatch);
        rows.Add(await StatsAsync(server, dataSource, $"after purging {deleted:N0} finished jobs in {batches} batches of {purgeBatch:N0} ({watch.Elapsed.TotalSeconds:F1} s)"));
        watch.Restart();
        await using (var vacuum = dataSource.CreateCommand("VACUUM ladder_jobs"))
        {
            vacuum.CommandTimeout = 600;
            await vacuum.ExecuteNonQueryAsync();
        }

        rows.Add(await StatsAsync(server, dataSource, $"after VACUUM ({watch.Elapsed.TotalSeconds:F1} s)"));
        return rows;
    }

    /// <summary>
    /// The jobs flow through: a producer keeps at most <paramref name="backlog"/> jobs waiting, 4 consumers claim 64,
    /// a purger deletes finished jobs in batches every second; sampled every 5 s.
    /// </summary>
    public static async Task<(List<Stats> Rows, double Rate, long MaxTable, long MaxDead)> FlowAsync(
        PostgresServer server, int jobs, bool tuned, int backlog = 20_000, int purgeBatch = 10_000)
    {
        var name = tuned ? "health_tuned" : "health_default";
        await using var dataSource = await Bench.DatabaseAsync(server, name, maxPool: 12);
        await QueueSchema.CreateAsync(dataSource);
        if (tuned)
        {
            await server.ExecuteAsync("ALTER SYSTEM SET autovacuum_naptime = '1s'");
            await server.ExecuteAsync("SELECT pg_reload_conf()");
            await using var alter = dataSource.CreateCommand(Tuned);
            await alter.ExecuteNonQueryAsync();
        }

        var rows = new List<Stats>();
        long enqueued = 0, maxTable = 0, maxDead = 0;
        var progress = new RawLoop.Counter();
        var producing = true;
        using var stop = new CancellationTokenSource();
        var producer = Task.Run(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var command = QueueSchema.EnqueueBatchCommand(connection);
            await command.PrepareAsync();
            var done = 0;
            while (done < jobs)
            {
                if (Interlocked.Read(ref enqueued) - Interlocked.Read(ref progress.Value) > backlog)
                {
                    await Task.Delay(5);
                    continue;
                }

                var count = Math.Min(1000, jobs - done);
                command.Parameters[2].Value = QueueSchema.Payloads(done, count);
                await command.ExecuteNonQueryAsync();
                done += count;
                Interlocked.Add(ref enqueued, count);
            }

            Volatile.Write(ref producing, false);
        });
        var purger = Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
                    await PurgeAsync(dataSource, purgeBatch);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });
        var sampler = Task.Run(async () =>
        {
            try
            {
                var watch = Stopwatch.StartNew();
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), stop.Token);
                    var s = await StatsAsync(server, dataSource, $"at {watch.Elapsed.TotalSeconds:F0} s", flush: false);
                    maxTable = Math.Max(maxTable, s.Table);
                    maxDead = Math.Max(maxDead, s.Dead);
                    Console.Error.WriteLine($"  ({name}) {s}");
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });
        var (elapsed, _, _, processed) = await RawLoop.BurnDownAsync(dataSource, 4, 64, jobs, keepGoing: () => Volatile.Read(ref producing), progress);
        await producer;
        await stop.CancelAsync();
        await purger;
        await sampler;
        rows.Add(await StatsAsync(server, dataSource, $"after {processed:N0} jobs in {elapsed.TotalSeconds:F0} s"));
        var (deleted, _) = await PurgeAsync(dataSource, purgeBatch);
        rows.Add(await StatsAsync(server, dataSource, $"after purging the last {deleted:N0} finished jobs"));
        if (tuned)
        {
            await server.ExecuteAsync("ALTER SYSTEM RESET autovacuum_naptime");
            await server.ExecuteAsync("SELECT pg_reload_conf()");
        }

        return (rows, Bench.Rate(processed, elapsed), maxTable, maxDead);
    }

    /// <summary>Deletes finished jobs in batches until a batch comes back short.</summary>
    public static async Task<(long Deleted, int Batches)> PurgeAsync(NpgsqlDataSource dataSource, int batch)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var purge = new NpgsqlCommand(QueueSchema.PurgeBatch, connection);
        purge.Parameters.Add(new NpgsqlParameter { Value = TimeSpan.Zero, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Interval });
        purge.Parameters.Add(new NpgsqlParameter { Value = batch });
        long deleted = 0;
        var batches = 0;
        while (true)
        {
            var n = await purge.ExecuteNonQueryAsync();
            deleted += n;
            batches++;
            if (n < batch)
            {
                return (deleted, batches);
            }
        }
    }

    /// <summary>
    /// The table's size and tuples. Statistics reach pg_stat_user_tables when a backend reports them (at most once a
    /// second while busy, on exit when idle), so unless sampling mid-run the pools are cleared first.
    /// </summary>
    public static async Task<Stats> StatsAsync(PostgresServer server, NpgsqlDataSource dataSource, string when, bool flush = true)
    {
        if (flush)
        {
            // Idle pooled connections close, their backends exit and report.
            dataSource.Clear();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
        }

        _ = server;
        await using var connection = new NpgsqlConnection(dataSource.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT (SELECT count(*) FROM ladder_jobs), n_live_tup, n_dead_tup, pg_total_relation_size('ladder_jobs'),
                   pg_relation_size('ladder_jobs'), pg_indexes_size('ladder_jobs'), autovacuum_count
            FROM pg_stat_user_tables WHERE relname = 'ladder_jobs'
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new Stats(when, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
    }
}
