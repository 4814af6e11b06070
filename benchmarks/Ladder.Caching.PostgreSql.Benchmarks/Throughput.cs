using System.Diagnostics;
using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>
/// Part (b): publishes/s, batched against one NOTIFY per publish, and what each does to a concurrent write workload
/// (8 clients, one <c>UPDATE</c> per transaction on a table of their own) on the same server (fsync and
/// synchronous_commit on). For each publishing mode: its capacity alone (as fast as it goes), then the write workload
/// alone (the backplane idle) right before it runs beside the publisher at full speed, three pairs, and the same
/// beside a paced publisher (the same offered rate for every mode). Pairing each measurement with an idle one taken
/// just before it, and taking the median of three pairs, keeps the other engineers' load on this shared machine out of
/// the ratio as far as it can.
/// </summary>
internal static partial class Throughput
{
    private const int Writers = 8;
    private const int Publishers = 8;
    private const int RowsPerWriter = 1000;

    /// <summary>Idle/beside pairs per measurement of the effect on the writes (the median ratio is reported).</summary>
    private const int Pairs = 3;

    /// <summary>The paced publisher: each of the 8 publishers publishes one change every 32 ms (about 250/s in all).</summary>
    private static readonly TimeSpan PacedInterval = TimeSpan.FromMilliseconds(32);

    public static async Task<int> RunAsync(TimeSpan phase)
    {
        Report.Header($"(b) publishes/s, batched vs one NOTIFY per publish, and the effect on a concurrent write workload ({Writers} clients, one UPDATE per transaction); {phase.TotalSeconds:F0} s per phase");
        await using var postgres = await PostgresServer.StartAsync(new PostgresServerOptions { Fsync = true });
        var connectionString = await postgres.CreateDatabaseAsync("bench");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await PrepareAsync(dataSource);

        Console.WriteLine("| mode | publisher | publishes/s | log rows (= NOTIFYs)/s | changes per row | write tx/s beside (median) | write tx/s idle, just before (median) | writes vs idle (median of the pairs) |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var create in Modes(connectionString, dataSource))
        {
            await using var mode = await create();
            var capacity = await mode.RunAsync(phase, paced: null, CancellationToken.None);
            Print(mode.Name, "full speed, no writes beside", capacity, null, phase);
            foreach (var paced in (TimeSpan?[])[null, PacedInterval])
            {
                // Idle, then beside, Pairs times over: the ratio of each pair, then the median of the ratios.
                var pairs = new List<(double Idle, double Beside, (long Publishes, long Rows) Run)>();
                for (var pair = 0; pair < Pairs; pair++)
                {
                    var idle = await WriteWorkloadAsync(dataSource, phase);
                    var writes = WriteWorkloadAsync(dataSource, phase);
                    var published = await mode.RunAsync(phase, paced, CancellationToken.None);
                    pairs.Add((idle, await writes, published));
                }

                var median = pairs.OrderBy(p => p.Beside / p.Idle).ElementAt(Pairs / 2);
                Print(
                    mode.Name,
                    paced is null ? "full speed, beside the writes" : $"paced ({Publishers} × one per {paced.Value.TotalMilliseconds:F0} ms), beside the writes",
                    median.Run,
                    (Report.Percentile([.. pairs.Select(p => p.Beside)], 0.5), Report.Percentile([.. pairs.Select(p => p.Idle)], 0.5), median.Beside / median.Idle, string.Join(" ", pairs.Select(p => (p.Beside / p.Idle).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))),
                    phase);
            }
        }

        Report.Footer();
        return 0;
    }

    private static void Print(string mode, string publisher, (long Publishes, long Rows) run, (double Beside, double Idle, double Ratio, string Ratios)? writes, TimeSpan phase) =>
        Console.WriteLine(
            $"| {mode} | {publisher} | {Report.N(run.Publishes / phase.TotalSeconds)} | {Report.N(run.Rows / phase.TotalSeconds)} | "
            + $"{(run.Rows == 0 ? "-" : ((double)run.Publishes / run.Rows).ToString("N1", System.Globalization.CultureInfo.InvariantCulture))} | "
            + (writes is { } w ? $"{Report.N(w.Beside)} | {Report.N(w.Idle)} | {w.Ratio:F2}× ({w.Ratios}) |" : "- | - | - |"));

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
    private static async Task<double> WriteWorkloadAsync(NpgsqlDataSource dataSource, TimeSpan phase)
    {
        var counts = new long[Writers];
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(async writer =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("UPDATE accounts SET balance = balance + 1 WHERE id = $1", connection);
            var id = new NpgsqlParameter<int>();
            command.Parameters.Add(id);
            await command.PrepareAsync();
            for (var n = 0; stopwatch.Elapsed < phase; n++)
            {
                id.TypedValue = (writer * RowsPerWriter) + (n % RowsPerWriter);
                await command.ExecuteNonQueryAsync();
                counts[writer]++;
            }
        }));
        return counts.Sum() / stopwatch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Runs <see cref="Publishers"/> closed loops for the phase: each does <paramref name="once"/> and, when paced,
    /// waits out the rest of its interval. Returns how many it did.
    /// </summary>
    private static async Task<long> ClosedLoopsAsync(TimeSpan phase, TimeSpan? paced, Func<int, int, Task> once)
    {
        var counts = new long[Publishers];
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Publishers).Select(async publisher =>
        {
            if (paced is { } interval)
            {
                // Staggered, so the paced publishers do not fire together.
                await Task.Delay(interval * publisher / Publishers);
            }

            for (var n = 0; stopwatch.Elapsed < phase; n++)
            {
                var started = stopwatch.Elapsed;
                await once(publisher, n);
                counts[publisher]++;
                if (paced is { } wait && stopwatch.Elapsed - started < wait)
                {
                    await Task.Delay(wait - (stopwatch.Elapsed - started));
                }
            }
        }));
        return counts.Sum();
    }

    private static async Task<long> CountAsync(NpgsqlDataSource dataSource, string sql, long after)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A way of publishing, measured for one phase at a time.</summary>
    private interface IPublishMode : IAsyncDisposable
    {
        string Name { get; }

        /// <summary>Publishes for the phase (full speed, or paced); returns the changes delivered and the log rows written within it.</summary>
        Task<(long Publishes, long Rows)> RunAsync(TimeSpan phase, TimeSpan? paced, CancellationToken cancellationToken);
    }
}
