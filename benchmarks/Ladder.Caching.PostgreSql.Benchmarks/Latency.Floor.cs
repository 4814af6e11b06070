using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>
/// Part (a), the floor under Ladder's rows: no library, one connection inserting a log row and notifying in one
/// autocommit statement (fsync on, as for the backplane), another connection listening. What PostgreSQL itself costs.
/// </summary>
internal static partial class Latency
{
    private static async Task FloorAsync(PostgresServer postgres, int samples)
    {
        var connectionString = await postgres.CreateDatabaseAsync("floor");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var create = dataSource.CreateCommand("CREATE TABLE raw_log (seq bigserial PRIMARY KEY, changes text NOT NULL)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        var signal = new Signal();
        await using var listener = await dataSource.OpenConnectionAsync();
        listener.Notification += (_, e) => signal.Observe(null);
        await using (var listen = new NpgsqlCommand("LISTEN raw_floor", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        using var stop = new CancellationTokenSource();
        var listening = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await listener.WaitAsync(stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        await using var writer = await dataSource.OpenConnectionAsync();
        await using var notify = new NpgsqlCommand(
            """WITH r AS (INSERT INTO raw_log (changes) VALUES ('[{"e":"item","k":"item:1","f":["version"]}]') RETURNING seq) SELECT pg_notify('raw_floor', seq::text) FROM r""",
            writer);
        await notify.PrepareAsync();
        var floor = await LatencySampler.RunAsync(
            samples,
            signal,
            key: null,
            warm: _ => ValueTask.CompletedTask,
            publish: async _ => await notify.ExecuteScalarAsync(),
            verify: _ => ValueTask.FromResult(true));
        floor.Row("floor: raw Npgsql, no cache", "one `INSERT` + `pg_notify` (autocommit, fsync)", "the listener connection's `Notification` event");
        await stop.CancelAsync();
        await listening;
        Results.Add(("floor", floor));
    }
}
