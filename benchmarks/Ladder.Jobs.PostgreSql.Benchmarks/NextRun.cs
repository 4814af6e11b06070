using System.Diagnostics;
using Ladder.Jobs.PostgreSql.Internal;
using Ladder.Jobs.Storage;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// What an idle claim pays to say when the queue's next job becomes runnable, with N jobs scheduled an hour ahead over
/// four priorities: the former statement (min(run_at) over every claimable entry of the queue) and the store's own
/// (a skip scan over the priorities), interleaved, each statement alone and the whole idle claim through the store; then
/// idle claims with one keyed job waiting (the limited claim, which answers in its own statement); and both plans of the
/// next-run statement and the plain claim's selection (EXPLAIN ANALYZE, BUFFERS).
/// </summary>
internal static class NextRun
{
    // The statement the store ran before the skip scan, kept here to measure against.
    private const string Before =
        "SELECT (SELECT min(run_at) - now() FROM {s}.jobs WHERE queue = @queue AND state IN (0, 1, 4) AND concurrency_key IS NULL), " +
        "EXISTS (SELECT 1 FROM {s}.jobs WHERE queue = @queue AND state IN (0, 1, 4) AND concurrency_key IS NOT NULL), " +
        "EXISTS (SELECT 1 FROM {s}.rate_limits WHERE scope = 0 AND name = @queue)";

    // The plain claim's selection (Sql.Claim), to show what is left of an idle claim's time.
    private const string Selection =
        "SELECT id FROM {s}.jobs WHERE queue = @queue AND state IN (0, 1, 4) AND concurrency_key IS NULL AND run_at <= now() " +
        "ORDER BY priority DESC, run_at, id LIMIT 64 FOR UPDATE SKIP LOCKED";

    public static async Task RunAsync(PostgresServer server, int jobs, int rounds)
    {
        const string schema = "next_run";
        Bench.Heading($"Next run: {jobs:N0} jobs an hour ahead over 4 priorities, one queue; {rounds} rounds of 200 statements each and 200 idle claims");
        var database = await server.CreateDatabaseAsync("next_run");
        var options = new LadderJobsOptions();
        options.Queues["default"] = 4;
        var store = new PostgresJobStore(database, new PostgresJobStoreOptions { Schema = schema });
        await using var queue = await JobQueue.OpenAsync(store, options);
        for (var start = 0; start < jobs; start += 1000)
        {
            await queue.EnqueueBatchAsync([.. Enumerable.Range(start, Math.Min(1000, jobs - start)).Select(i =>
                JobRequest.For(new Noop(i), new JobOptions { Priority = i % 4, Delay = TimeSpan.FromHours(1) + TimeSpan.FromMilliseconds(i) }))]);
        }

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await Exec(connection, $"VACUUM ANALYZE {schema}.jobs");
        var before = Before.Replace("{s}", schema, StringComparison.Ordinal);
        var after = new Sql(schema, contextClock: false).NextRunIn;

        Console.WriteLine("| round | before: statement p50 / p90 | after: statement p50 / p90 | idle claim through the store p50 / p90 | load |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | --- |");
        for (var round = 1; round <= rounds; round++)
        {
            var old = await TimeAsync(() => Scalar(connection, before));
            var now = await TimeAsync(() => Scalar(connection, after));
            var claim = await TimeAsync(() => store.ClaimAsync(new ClaimRequest("default", 64, 4, TimeSpan.FromMinutes(1)), null));
            Console.WriteLine($"| {round} | {old} | {now} | {claim} | {Bench.Load()} |");
        }

        // One keyed job waiting (an hour ahead) sends the queue's claims to the limited claim, which answers the next
        // run time in its own statement.
        await queue.EnqueueAsync(new Noop(-1), new JobOptions { Delay = TimeSpan.FromHours(1), ConcurrencyKey = "k", ConcurrencyLimit = 1 });
        await store.ClaimAsync(new ClaimRequest("default", 64, 4, TimeSpan.FromMinutes(1)), null);
        Console.WriteLine();
        Console.WriteLine("With one keyed job waiting (the limited claim):");
        Console.WriteLine();
        Console.WriteLine("| round | idle limited claim through the store p50 / p90 | load |");
        Console.WriteLine("| ---: | ---: | --- |");
        for (var round = 1; round <= rounds; round++)
        {
            var claim = await TimeAsync(() => store.ClaimAsync(new ClaimRequest("default", 64, 4, TimeSpan.FromMinutes(1)), null));
            Console.WriteLine($"| {round} | {claim} | {Bench.Load()} |");
        }

        foreach (var (name, sql) in ((string, string)[])[("before", before), ("after", after), ("the plain claim's selection (unchanged; its run_at <= now() cannot stop its scan)", Selection.Replace("{s}", schema, StringComparison.Ordinal))])
        {
            Console.WriteLine();
            Console.WriteLine($"EXPLAIN (ANALYZE, BUFFERS), {name}:");
            Console.WriteLine();
            Console.WriteLine("```");
            await using var explain = Command(connection, "EXPLAIN (ANALYZE, BUFFERS) " + sql);
            await using var reader = await explain.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                Console.WriteLine(reader.GetString(0));
            }

            Console.WriteLine("```");
        }
    }

    private static async Task<string> TimeAsync(Func<Task> run)
    {
        var times = new List<double>(200);
        for (var i = 0; i < 200; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await run();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        times.Sort();
        return $"{Bench.Ms(Bench.Percentile(times, 50))} / {Bench.Ms(Bench.Percentile(times, 90))}";
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("queue", "default");
        return command;
    }

    private static async Task Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = Command(connection, sql);
        await command.ExecuteScalarAsync();
    }

    private static async Task Exec(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
