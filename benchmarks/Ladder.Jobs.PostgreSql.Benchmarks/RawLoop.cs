using System.Diagnostics;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// (a) The limit on this machine: N no-op jobs enqueued in batches (one unnest round trip each), then C consumers
/// that each claim a batch with SKIP LOCKED (one statement claims and leases) and complete it with one
/// compare-and-set statement over arrays. Each claim and each completion is its own (autocommit) transaction.
/// </summary>
internal static class RawLoop
{
    /// <summary>Jobs completed so far, shared with a producer that keeps a backlog.</summary>
    public sealed class Counter
    {
        public long Value;
    }

    public sealed record Result(int Jobs, int Consumers, int Batch, double EnqueueRate, double ProcessRate, long Claims, long EmptyClaims);

    public static async Task<Result> RunAsync(PostgresServer server, int jobs, int consumers, int batch, string name = "raw", bool explain = false)
    {
        await using var dataSource = await Bench.DatabaseAsync(server, name, maxPool: consumers + 4);
        await QueueSchema.CreateAsync(dataSource);
        var enqueue = Stopwatch.GetTimestamp();
        await QueueSchema.EnqueueAsync(dataSource, jobs);
        var enqueueElapsed = Stopwatch.GetElapsedTime(enqueue);
        await using (var analyze = dataSource.CreateCommand("ANALYZE ladder_jobs"))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        if (explain)
        {
            // The claim's plan (to stderr): it must walk the claimable index in claim order, not sort the table.
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var plan = QueueSchema.ClaimCommand(connection, batch);
            plan.CommandText = "EXPLAIN " + plan.CommandText;
            await using var reader = await plan.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                Console.Error.WriteLine("  plan: " + reader.GetString(0));
            }
        }

        var (elapsed, claims, empty, done) = await BurnDownAsync(dataSource, consumers, batch, jobs);
        if (done != jobs)
        {
            throw new InvalidOperationException($"processed {done} of {jobs}");
        }

        return new Result(jobs, consumers, batch, Bench.Rate(jobs, enqueueElapsed), Bench.Rate(jobs, elapsed), claims, empty);
    }

    /// <summary>Consumers until the queue is empty; returns the elapsed time, claims, empty claims and jobs done.</summary>
    public static async Task<(TimeSpan Elapsed, long Claims, long Empty, long Done)> BurnDownAsync(
        NpgsqlDataSource dataSource, int consumers, int batch, int jobs, Func<bool>? keepGoing = null, Counter? progress = null)
    {
        long claims = 0, empty = 0;
        progress ??= new Counter();
        // Open and prepare first, then release every consumer from one gate: the clock starts at the gate.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = new CountdownEvent(consumers);
        var tasks = Enumerable.Range(0, consumers).Select(_ => Task.Run(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var claim = QueueSchema.ClaimCommand(connection, batch);
            await using var complete = QueueSchema.CompleteCommand(connection);
            await claim.PrepareAsync();
            await complete.PrepareAsync();
            var ids = new List<long>(batch);
            var tokens = new List<Guid>(batch);
            ready.Signal();
            await gate.Task;
            while (true)
            {
                Interlocked.Increment(ref claims);
                if (await QueueSchema.ClaimAsync(claim, ids, tokens) == 0)
                {
                    Interlocked.Increment(ref empty);
                    // All jobs were enqueued up front: an empty claim means the rest are held by other consumers,
                    // unless a producer is still feeding the queue (keepGoing).
                    if (keepGoing?.Invoke() == true && Interlocked.Read(ref progress.Value) < jobs)
                    {
                        await Task.Delay(1);
                        continue;
                    }

                    return;
                }

                // The no-op handlers ran here.
                await QueueSchema.CompleteAsync(complete, ids, tokens);
                Interlocked.Add(ref progress.Value, ids.Count);
            }
        })).ToArray();
        ready.Wait();
        var start = Stopwatch.GetTimestamp();
        gate.SetResult();
        await Task.WhenAll(tasks);
        return (Stopwatch.GetElapsedTime(start), claims, empty, progress.Value);
    }
}
