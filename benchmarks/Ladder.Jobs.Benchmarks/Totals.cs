using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Benchmarks;

/// <summary>
/// What a health check's read costs at a day's retention: a file of N jobs (99.8 % succeeded, the rest ready or dead,
/// over 3 queues, payloads of about 220 bytes), then the counts by (queue, state) that the health check summed before,
/// alternated with the totals by state (<see cref="JobQueue.GetTotalsAsync"/>) that it reads now, each on the store's
/// reader connection, rounds interleaved.
/// </summary>
internal static class Totals
{
    public static async Task<int> RunAsync(int jobs, int rounds)
    {
        var folder = Directory.CreateTempSubdirectory("ladder-totals-").FullName;
        try
        {
            var path = Path.Combine(folder, "jobs.db");
            await using var queue = JobQueue.Open(new LadderJobsOptions { Path = path });
            var filler = new string('0', 200);
            for (var start = 0; start < jobs; start += 10_000)
            {
                await queue.EnqueueBatchAsync([.. Enumerable.Range(start, Math.Min(10_000, jobs - start)).Select(i =>
                    new JobRequest("parse", $"{{\"replay\":\"{i}{filler}\"}}", new JobOptions { Queue = (i % 3) switch { 0 => "default", 1 => "replays", _ => "mail" } }))]);
            }

            await using (var connection = new SqliteConnection($"Data Source={path};Pooling=false"))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "UPDATE ladder_jobs SET state = CASE WHEN id % 1000 = 0 THEN 1 WHEN id % 997 = 0 THEN 5 ELSE 3 END, finished_at = created_at;";
                await command.ExecuteNonQueryAsync();
            }

            Console.WriteLine($"totals: {jobs:N0} jobs, {rounds} rounds, file {new FileInfo(path).Length / 1_048_576} MiB");
            Console.WriteLine("| round | counts by (queue, state), summed | totals by state | ratio | load (1 min) |");
            Console.WriteLine("| ---: | ---: | ---: | ---: | --- |");
            var (before, after) = (new List<double>(), new List<double>());
            for (var round = 1; round <= rounds; round++)
            {
                var sw = Stopwatch.StartNew();
                var counts = await queue.GetCountsAsync();
                before.Add(sw.Elapsed.TotalMilliseconds);
                sw.Restart();
                var totals = await queue.GetTotalsAsync();
                after.Add(sw.Elapsed.TotalMilliseconds);
                if (counts.Sum(static c => c.Count) != totals.Values.Sum())
                {
                    throw new InvalidOperationException("The two reads disagree.");
                }

                Console.WriteLine($"| {round} | {before[^1]:F1} ms | {after[^1]:F1} ms | {after[^1] / before[^1]:P1} | {File.ReadAllText("/proc/loadavg").Split(' ')[0]} |");
            }

            var (mb, ma) = (Median(before), Median(after));
            Console.WriteLine($"medians: {mb:F1} ms against {ma:F1} ms ({ma / mb:P1}, {mb / ma:F1}x faster)");
            return 0;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
