using System.Diagnostics;
using Ladder.Jobs.Storage;
using Ladder.Jobs.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Benchmarks;

/// <summary>
/// What an idle claim pays to say when the queue's next job becomes runnable, with N jobs scheduled an hour ahead over
/// four priorities: the former statement (min(run_at) over every claimable entry of the queue) and the store's own
/// (a skip scan over the priorities), interleaved, each statement alone on a reader connection and the whole idle
/// claim through the store's writer; and both plans (EXPLAIN QUERY PLAN).
/// </summary>
internal static class NextRun
{
    // The statement the store ran before the skip scan, kept here to measure against.
    private const string Before = "SELECT min(run_at) FROM ladder_jobs WHERE queue = @p0 AND state IN (0, 1, 4) AND concurrency_key IS NULL;";

    public static async Task<int> RunAsync(int jobs, int rounds)
    {
        Console.WriteLine($"next-run: {jobs:N0} jobs an hour ahead over 4 priorities, one queue, synchronous=FULL; {Environment.ProcessorCount} cores; {rounds} rounds of 200 statements each and 200 idle claims");
        var path = Harness.TempFile("next-run.db");
        try
        {
            var options = new LadderJobsOptions { Path = path };
            await using var queue = JobQueue.Open(options);
            for (var start = 0; start < jobs; start += 1000)
            {
                await queue.EnqueueBatchAsync([.. Enumerable.Range(start, Math.Min(1000, jobs - start)).Select(i =>
                    JobRequest.For(new Noop(i), new JobOptions { Priority = i % 4, Delay = TimeSpan.FromHours(1) + TimeSpan.FromMilliseconds(i) }))]);
            }

            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            Console.WriteLine($"SQLite {connection.ServerVersion}");
            Console.WriteLine("| round | before: statement p50 / p90 | after: statement p50 / p90 | idle claim through the store p50 / p90 | load |");
            Console.WriteLine("| ---: | ---: | ---: | ---: | --- |");
            var store = queue.Sqlite;
            for (var round = 1; round <= rounds; round++)
            {
                var old = Time(() => Scalar(connection, Before));
                var now = Time(() => Scalar(connection, Sql.NextRunAt));
                var claim = await TimeAsync(() => store.ClaimAsync(new ClaimRequest("default", 64, 4, TimeSpan.FromMinutes(1)), null));
                Console.WriteLine($"| {round} | {old} | {now} | {claim} | load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} |");
            }

            foreach (var (name, sql) in ((string, string)[])[("before", Before), ("after", Sql.NextRunAt)])
            {
                Console.WriteLine();
                Console.WriteLine($"EXPLAIN QUERY PLAN, {name}:");
                Console.WriteLine();
                Console.WriteLine("```");
                using var explain = Command(connection, "EXPLAIN QUERY PLAN " + sql);
                using var reader = explain.ExecuteReader();
                while (reader.Read())
                {
                    Console.WriteLine($"{reader.GetInt32(0)} {reader.GetInt32(1)} {reader.GetString(3)}");
                }

                Console.WriteLine("```");
            }

            return 0;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Harness.Delete(path);
        }
    }

    private static string Time(Action run) => Summary(Enumerable.Range(0, 200).Select(_ =>
    {
        var start = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }).ToList());

    private static async Task<string> TimeAsync(Func<Task> run)
    {
        var times = new List<double>(200);
        for (var i = 0; i < 200; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await run();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return Summary(times);
    }

    private static string Summary(List<double> times)
    {
        times.Sort();
        return $"{times[times.Count / 2]:F3} ms / {times[(int)(times.Count * 0.9)]:F3} ms";
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@p0", "default");
        return command;
    }

    private static void Scalar(SqliteConnection connection, string sql)
    {
        using var command = Command(connection, sql);
        command.ExecuteScalar();
    }
}
