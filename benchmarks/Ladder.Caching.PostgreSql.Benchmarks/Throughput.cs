using System.Diagnostics;
using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>
/// Part (b): publishes/s, batched against one NOTIFY per publish, and what each does to a concurrent write workload
/// (8 clients, one <c>UPDATE</c> per transaction on a table of their own) on the same server (fsync and
/// synchronous_commit on). Every phase runs for the same time; the write workload's transactions/s are measured
/// alone (backplane idle) and beside each publishing mode.
/// </summary>
internal static partial class Throughput
{
    private const int Writers = 8;
    private const int RawPublishers = 8;
    private const int RowsPerWriter = 1000;

    public static async Task<int> RunAsync(TimeSpan phase)
    {
        Report.Header($"(b) publishes/s, batched vs one NOTIFY per publish, with a concurrent write workload ({Writers} clients, one UPDATE per transaction); {phase.TotalSeconds:F0} s per phase");
        await using var postgres = await PostgresServer.StartAsync(new PostgresServerOptions { Fsync = true });
        var connectionString = await postgres.CreateDatabaseAsync("bench");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await PrepareAsync(dataSource);

        Console.WriteLine("| mode | publishes/s | log rows (= NOTIFYs)/s | changes per row | write workload tx/s | write tx/s vs idle |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        var idle = await WriteWorkloadAsync(dataSource, phase, CancellationToken.None);
        Console.WriteLine($"| backplane idle (nodes started, nothing published) | 0 | 0 | - | {Report.N(idle)} | 1.00× |");
        await LadderModesAsync(connectionString, dataSource, phase, idle);
        await RawAsync(dataSource, phase, idle);
        Report.Footer();
        return 0;
    }

    private static async Task PrepareAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL DEFAULT 0);
            INSERT INTO accounts (id) SELECT g FROM generate_series(0, {(Writers * RowsPerWriter) - 1}) g;
            CREATE TABLE raw_log (seq bigserial PRIMARY KEY, changes text NOT NULL, created timestamptz NOT NULL DEFAULT now());
            """);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// The concurrent write workload: <see cref="Writers"/> clients, each on its own connection updating rows of its
    /// own (no lock waits between them), one <c>UPDATE</c> per transaction (autocommit), for <paramref name="phase"/>.
    /// Returns transactions/s.
    /// </summary>
    private static async Task<double> WriteWorkloadAsync(NpgsqlDataSource dataSource, TimeSpan phase, CancellationToken cancellationToken)
    {
        var counts = new long[Writers];
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(async writer =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var command = new NpgsqlCommand("UPDATE accounts SET balance = balance + 1 WHERE id = $1", connection);
            var id = new NpgsqlParameter<int>();
            command.Parameters.Add(id);
            await command.PrepareAsync(cancellationToken);
            for (var n = 0; stopwatch.Elapsed < phase; n++)
            {
                id.TypedValue = (writer * RowsPerWriter) + (n % RowsPerWriter);
                await command.ExecuteNonQueryAsync(cancellationToken);
                counts[writer]++;
            }
        }));
        return counts.Sum() / stopwatch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// The floor for "one NOTIFY per publish": no library, <see cref="RawPublishers"/> clients each inserting one log
    /// row and notifying its sequence in one autocommit statement (one transaction, one NOTIFY per publish), and one
    /// listener connection that receives the notifications, as a node would.
    /// </summary>
    private static async Task RawAsync(NpgsqlDataSource dataSource, TimeSpan phase, double idle)
    {
        var (alone, _) = await RawPublishAsync(dataSource, phase, withWrites: false);
        Console.WriteLine($"| raw Npgsql, one INSERT + pg_notify per transaction, {RawPublishers} clients (no writes beside) | {Report.N(alone.Rate)} | {Report.N(alone.Rate)} | 1 | - | - |");
        var (beside, writes) = await RawPublishAsync(dataSource, phase, withWrites: true);
        Console.WriteLine($"| raw Npgsql, one INSERT + pg_notify per transaction, {RawPublishers} clients, beside the writes | {Report.N(beside.Rate)} | {Report.N(beside.Rate)} | 1 | {Report.N(writes)} | {writes / idle:F2}× |");
        if (alone.Received < alone.Sent || beside.Received < beside.Sent)
        {
            Console.WriteLine($"  (raw listener received {alone.Received}/{alone.Sent} and {beside.Received}/{beside.Sent} notifications)");
        }
    }

    private static async Task<((double Rate, long Sent, long Received) Publish, double Writes)> RawPublishAsync(NpgsqlDataSource dataSource, TimeSpan phase, bool withWrites)
    {
        await using var listener = await dataSource.OpenConnectionAsync();
        long received = 0;
        listener.Notification += (_, _) => Interlocked.Increment(ref received);
        await using (var listen = new NpgsqlCommand("LISTEN raw_bench", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        using var stopListening = new CancellationTokenSource();
        var listening = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await listener.WaitAsync(stopListening.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        var writes = withWrites ? WriteWorkloadAsync(dataSource, phase, CancellationToken.None) : Task.FromResult(0d);
        var counts = new long[RawPublishers];
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, RawPublishers).Select(async publisher =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand(
                "WITH r AS (INSERT INTO raw_log (changes) VALUES ($1) RETURNING seq) SELECT pg_notify('raw_bench', seq::text) FROM r", connection);
            var payload = new NpgsqlParameter<string>();
            command.Parameters.Add(payload);
            await command.PrepareAsync();
            for (var n = 0; stopwatch.Elapsed < phase; n++)
            {
                payload.TypedValue = $$"""[{"e":"item","k":"{{publisher}}-{{n}}","f":["version"]}]""";
                await command.ExecuteScalarAsync();
                counts[publisher]++;
            }
        }));
        var elapsed = stopwatch.Elapsed;
        var writeRate = await writes;
        var sent = counts.Sum();
        // Let the last notifications arrive (bounded) before counting what the listener got.
        for (var wait = 0; Interlocked.Read(ref received) < sent && wait < 100; wait++)
        {
            await Task.Delay(20);
        }

        await stopListening.CancelAsync();
        await listening;
        return ((sent / elapsed.TotalSeconds, sent, Interlocked.Read(ref received)), writeRate);
    }
}
