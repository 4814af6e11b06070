using System.Diagnostics;
using Ladder.PostgreSql.Testing;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// Issue #14's performance item on PostgreSQL: a burn-down of no-op jobs over 100 concurrency keys (limit 4 per key;
/// every claim of them under the store's advisory lock) beside the plain burn-down of the same jobs without keys,
/// interleaved in one run, through PostgresJobStore and a JobProcessor; jobs/s of the processing phase and the ratio.
/// </summary>
internal static class LimitedBurnDown
{
    public static async Task RunAsync(PostgresServer server, int jobs, int rounds)
    {
        Bench.Heading($"Limits burn-down: {jobs:N0} no-op jobs, plain vs 100 concurrency keys x limit 4, one processor, prefetch 64, {rounds} rounds");
        Console.WriteLine("| round | slots | plain jobs/s | load | keyed jobs/s | load | keyed / plain |");
        Console.WriteLine("| ---: | ---: | ---: | --- | ---: | --- | ---: |");
        var database = await server.CreateDatabaseAsync("limits_burn_down");
        var n = 0;
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var slots in (int[])[4, 16])
            {
                var (plain, plainLoad) = await OneAsync(database, $"plain_{++n}", jobs, slots, keys: 0);
                var (keyed, keyedLoad) = await OneAsync(database, $"keyed_{++n}", jobs, slots, keys: 100);
                Console.WriteLine($"| {round} | {slots} | {Bench.N(plain)} | {plainLoad} | {Bench.N(keyed)} | {keyedLoad} | {keyed / plain:P0} |");
            }
        }
    }

    internal static async Task<(double Rate, string Load)> OneAsync(string database, string schema, int jobs, int slots, int keys)
    {
        var options = new LadderJobsOptions { Prefetch = 64 };
        options.Queues["default"] = slots;
        await using var queue = await JobQueue.OpenAsync(new PostgresJobStore(database, new PostgresJobStoreOptions { Schema = schema }), options);
        for (var start = 0; start < jobs; start += 1000)
        {
            await queue.EnqueueBatchAsync([.. Enumerable.Range(start, Math.Min(1000, jobs - start)).Select(i =>
                JobRequest.For(new LimitNoop(i), keys == 0 ? null : new JobOptions { ConcurrencyKey = "key" + (i % keys), ConcurrencyLimit = 4 }))]);
        }

        // Counted in the handler (the processor's outcome event is internal to Ladder.Jobs), then the last outcomes
        // are waited for through the counts, so the time covers every completion's commit.
        var done = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<LimitNoop>((_, _, _) =>
        {
            if (Interlocked.Increment(ref done) == jobs)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        }));
        var started = Stopwatch.GetTimestamp();
        await processor.StartAsync(CancellationToken.None);
        await all.Task;
        while ((await queue.GetTotalsAsync())[JobState.Succeeded] < jobs)
        {
            await Task.Delay(5);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        await processor.StopAsync(CancellationToken.None);
        return (jobs / elapsed.TotalSeconds, load);
    }
}

/// <summary>The limits burn-down's no-op job.</summary>
/// <param name="N">Its number.</param>
[JobKind("limits-noop")]
public sealed record LimitNoop(int N);
