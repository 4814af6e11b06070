using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// Where the store's time goes on the server: pg_stat_statements (loaded by a restart of the throwaway server) over a
/// burn-down through the store and one of the raw loop; calls, rows and time per statement, and calls per job.
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
        ])
        {
            await server.ExecuteAsync("SELECT pg_stat_statements_reset()");
            var rate = await run();
            Bench.Heading($"Statements of {name}: {jobs:N0} jobs, {Bench.N(rate)} jobs/s (enqueue and burn-down)");
            await using var connection = new NpgsqlConnection(server.ConnectionString());
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                """
                SELECT calls, rows, total_exec_time, mean_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
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
        }
    }
}
