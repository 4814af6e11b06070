using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>To find stalls (the store part): every 2 s, to stderr, the sessions holding a snapshot or busy, and the jobs table's vacuum state.</summary>
internal static class Diagnose
{
    public static async Task WatchAsync(PostgresServer server, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(2), stop);
                await using var connection = new NpgsqlConnection(server.ConnectionString());
                await connection.OpenAsync(stop);
                await using var activity = new NpgsqlCommand(
                    """
                    SELECT pid, datname, application_name, state, backend_xmin::text, backend_xid::text, now() - xact_start, left(regexp_replace(query, '\s+', ' ', 'g'), 80)
                    FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (backend_xmin IS NOT NULL OR state NOT IN ('idle')) AND datname IS NOT NULL
                    """, connection);
                await using (var reader = await activity.ExecuteReaderAsync(stop))
                {
                    while (await reader.ReadAsync(stop))
                    {
                        Console.Error.WriteLine($"    [{DateTime.UtcNow:HH:mm:ss}] pid {reader.GetValue(0)} {reader.GetValue(1)} {reader.GetValue(2)} {reader.GetValue(3)} xmin {reader.GetValue(4)} xid {reader.GetValue(5)} xact {reader.GetValue(6)} {reader.GetValue(7)}");
                    }
                }

                try
                {
                    await using var store = new NpgsqlConnection(server.ConnectionString("ladder_pg_1"));
                    await store.OpenAsync(stop);
                    await using var explain = new NpgsqlCommand(
                        """
                        EXPLAIN (ANALYZE, BUFFERS) SELECT id FROM ladder_jobs.jobs WHERE queue = 'default' AND state IN (0, 1, 4) AND run_at <= now()
                        ORDER BY priority DESC, run_at, id LIMIT 65
                        """, store);
                    await using (var reader = await explain.ExecuteReaderAsync(stop))
                    {
                        while (await reader.ReadAsync(stop))
                        {
                            Console.Error.WriteLine($"    [{DateTime.UtcNow:HH:mm:ss}] plan: {reader.GetString(0)}");
                        }
                    }

                    await using var stats = new NpgsqlCommand("SELECT n_live_tup, n_dead_tup, last_autovacuum, last_autoanalyze, autovacuum_count, autoanalyze_count FROM pg_stat_user_tables WHERE relname = 'jobs'", store);
                    await using var r2 = await stats.ExecuteReaderAsync(stop);
                    while (await r2.ReadAsync(stop))
                    {
                        Console.Error.WriteLine($"    [{DateTime.UtcNow:HH:mm:ss}] jobs: live {r2.GetValue(0)} dead {r2.GetValue(1)} autovacuum {r2.GetValue(2)} ({r2.GetValue(4)}) autoanalyze {r2.GetValue(3)} ({r2.GetValue(5)})");
                    }
                }
                catch (PostgresException)
                {
                    // The database is not there yet.
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
