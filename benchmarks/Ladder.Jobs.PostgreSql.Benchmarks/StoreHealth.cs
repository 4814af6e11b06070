using System.Diagnostics;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// Table health through the store: N no-op jobs flow through one host (a producer keeps at most a backlog waiting,
/// enqueued in batches of 1,000 through <see cref="JobQueue.EnqueueBatchAsync"/>; a <see cref="JobProcessor"/> with
/// concurrency 4 runs them) and the store's own retention purges them (<see cref="LadderJobsOptions.SucceededRetention"/>
/// and <see cref="LadderJobsOptions.MaintenanceInterval"/>). The jobs table is sampled every 5 s. The store's
/// migration sets the table's autovacuum options; the server's <c>autovacuum_naptime</c> is given.
/// </summary>
internal static class StoreHealth
{
    public sealed record Sample(double Seconds, long Done, TableHealth.Stats Jobs, long AttemptsTable);

    public static async Task<(List<Sample> Samples, double Rate, TimeSpan Elapsed)> RunAsync(
        PostgresServer server, int jobs, string naptime, TimeSpan retention, TimeSpan maintenance, int backlog = 20_000)
    {
        await server.ExecuteAsync($"ALTER SYSTEM SET autovacuum_naptime = '{naptime}'");
        await server.ExecuteAsync("SELECT pg_reload_conf()");
        try
        {
            await using var dataSource = await Bench.DatabaseAsync(server, "store_health", maxPool: 32);
            var options = new LadderJobsOptions { SucceededRetention = retention, MaintenanceInterval = maintenance }.UsePostgres(dataSource);
            options.Queues["default"] = 4;
            await using var queue = JobQueue.Open(options);
            using var succeeded = new SucceededCounter(jobs);
            await using var processor = new JobProcessor(queue, StoreRunners.Handlers());
            var samples = new List<Sample>();
            using var stop = new CancellationTokenSource();
            var watch = Stopwatch.StartNew();
            var sampler = Task.Run(async () =>
            {
                try
                {
                    while (!stop.IsCancellationRequested)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(5), stop.Token);
                        var s = new Sample(watch.Elapsed.TotalSeconds, succeeded.Count, await StatsAsync(dataSource, "sample"), await AttemptsSizeAsync(dataSource));
                        samples.Add(s);
                        Console.Error.WriteLine($"  (store health) {s}");
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
            });
            await processor.StartAsync(CancellationToken.None);
            var enqueued = 0;
            while (enqueued < jobs)
            {
                if (enqueued - succeeded.Count > backlog)
                {
                    await Task.Delay(5);
                    continue;
                }

                var count = Math.Min(1000, jobs - enqueued);
                await StoreRunners.EnqueueAsync(queue, count, enqueued);
                enqueued += count;
            }

            await succeeded.All.Task;
            var elapsed = watch.Elapsed;
            // One more maintenance pass so the last finished jobs are purged too, then a last sample.
            await Task.Delay(maintenance + retention + TimeSpan.FromSeconds(1));
            await stop.CancelAsync();
            await sampler;
            await processor.StopAsync(CancellationToken.None);
            samples.Add(new Sample(watch.Elapsed.TotalSeconds, succeeded.Count, await StatsAsync(dataSource, "end"), await AttemptsSizeAsync(dataSource)));
            return (samples, Bench.Rate(jobs, elapsed), elapsed);
        }
        finally
        {
            await server.ExecuteAsync("ALTER SYSTEM RESET autovacuum_naptime");
            await server.ExecuteAsync("SELECT pg_reload_conf()");
        }
    }

    private static async Task<TableHealth.Stats> StatsAsync(NpgsqlDataSource dataSource, string when)
    {
        await using var connection = new NpgsqlConnection(dataSource.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT (SELECT count(*) FROM ladder_jobs.jobs), n_live_tup, n_dead_tup, pg_total_relation_size('ladder_jobs.jobs'),
                   pg_relation_size('ladder_jobs.jobs'), pg_indexes_size('ladder_jobs.jobs'), autovacuum_count
            FROM pg_stat_user_tables WHERE schemaname = 'ladder_jobs' AND relname = 'jobs'
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new TableHealth.Stats(when, reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
    }

    private static async Task<long> AttemptsSizeAsync(NpgsqlDataSource dataSource)
    {
        await using var connection = new NpgsqlConnection(dataSource.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_total_relation_size('ladder_jobs.job_attempts')", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
