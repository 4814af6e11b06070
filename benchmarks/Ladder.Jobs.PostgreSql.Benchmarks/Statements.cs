using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// Where the store's time goes on the server: pg_stat_statements (loaded by a restart of the throwaway server) over a
/// burn-down through the store (plain, and over concurrency keys) and one of the raw loop; calls, rows and time per statement, and calls per job.
/// </summary>
internal static class Statements
{
    public static async Task RunAsync(PostgresServer server, int jobs)
    {
        await server.ExecuteAsync("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
        await server.RestartAsync();
        NpgsqlConnection.ClearAllPools();
        await server.ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        foreach (var (name, run) in ((string, Func<Task<double>>)[])[
            ("raw loop, 4 × 64", async () => (await RawLoop.RunAsync(server, jobs, 4, 64)).ProcessRate),
            ("Ladder.Jobs on PostgreSQL", async () => (await StoreRunners.PostgresAsync(server, jobs)).ProcessRate),
            ("Ladder.Jobs on PostgreSQL, 100 concurrency keys x limit 4, 4 slots", async () =>
                (await LimitedBurnDown.OneAsync(await server.CreateDatabaseAsync("statements_keyed"), "keyed", jobs, 4, keys: 100)).Rate),
        ])
        {
            await server.ExecuteAsync("SELECT pg_stat_statements_reset()");
            using var stopSampling = new CancellationTokenSource();
            var sampler = SampleWaitsAsync(server, stopSampling.Token);
            var rate = await run();
            await stopSampling.CancelAsync();
            var waits = await sampler;
            Bench.Heading($"Statements of {name}: {jobs:N0} jobs, {Bench.N(rate)} jobs/s (enqueue and burn-down)");
            await using var connection = new NpgsqlConnection(server.ConnectionString());
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                """
                SELECT calls, rows, total_exec_time, mean_exec_time,
                  left(regexp_replace(regexp_replace(query, '\s+', ' ', 'g'), '^WITH c AS MATERIALIZED .*?\) (?=UPDATE|, upd)', '(locked leases) '), 110)
                FROM pg_stat_statements WHERE calls > 10 ORDER BY total_exec_time DESC LIMIT 14
                """, connection);
            Console.WriteLine("| calls | calls per 1,000 jobs | rows | total ms | mean ms | statement |");
            Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | --- |");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var calls = reader.GetInt64(0);
                Console.WriteLine($"| {calls:N0} | {calls * 1000.0 / jobs:F1} | {reader.GetInt64(1):N0} | {reader.GetDouble(2):F0} | {reader.GetDouble(3):F3} | `{reader.GetString(4).Replace("|", "\\|", StringComparison.Ordinal)}` |");
            }

            Console.WriteLine();
            Console.WriteLine("Server sessions of the run, sampled every 10 ms (active ones, by what they wait for):");
            Console.WriteLine();
            Console.WriteLine("| samples | wait | statement |");
            Console.WriteLine("| ---: | --- | --- |");
            foreach (var (key, count) in waits.OrderByDescending(static w => w.Value).Take(12))
            {
                Console.WriteLine($"| {count:N0} | {key.Wait} | `{key.Query.Replace("|", "\\|", StringComparison.Ordinal)}` |");
            }
        }
    }

    // What the run's active server sessions wait for (wait event, or CPU when none), with the statement's start.
    private static async Task<Dictionary<(string Wait, string Query), int>> SampleWaitsAsync(PostgresServer server, CancellationToken stop)
    {
        var waits = new Dictionary<(string, string), int>();
        await using var connection = new NpgsqlConnection(server.ConnectionString());
        await connection.OpenAsync(CancellationToken.None);
        await using var command = new NpgsqlCommand(
            """
            SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'),
              left(regexp_replace(regexp_replace(query, '\s+', ' ', 'g'), '^WITH c AS MATERIALIZED .*?\) (?=UPDATE|, upd)', '(locked leases) '), 70)
            FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
            """, connection);
        while (!stop.IsCancellationRequested)
        {
            await using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
            {
                while (await reader.ReadAsync(CancellationToken.None))
                {
                    var key = (reader.GetString(0), reader.GetString(1));
                    waits[key] = waits.GetValueOrDefault(key) + 1;
                }
            }

            try
            {
                await Task.Delay(10, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return waits;
    }
}
