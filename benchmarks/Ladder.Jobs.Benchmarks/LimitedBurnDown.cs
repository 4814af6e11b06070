using System.Diagnostics;

namespace Ladder.Jobs.Benchmarks;

/// <summary>
/// Issue #14's performance item on SQLite: a burn-down of no-op jobs over 100 concurrency keys (limit 4 per key) beside
/// the plain burn-down of the same jobs without keys, interleaved in one run (plain, keyed, plain, keyed, ...), at two
/// processor sizes; jobs/s of the processing phase and the keyed/plain ratio of each pair, with the load average.
/// </summary>
internal static class LimitedBurnDown
{
    public static async Task<int> RunAsync(int jobs, int rounds)
    {
        Console.WriteLine($"limits-burn-down: {jobs:N0} no-op jobs, plain vs 100 concurrency keys x limit 4, synchronous=FULL, prefetch 64; {Environment.ProcessorCount} cores; {rounds} rounds");
        Console.WriteLine("| round | slots | plain jobs/s | load | keyed jobs/s | load | keyed / plain |");
        Console.WriteLine("| ---: | ---: | ---: | --- | ---: | --- | ---: |");
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var slots in (int[])[4, 16])
            {
                var (plain, plainLoad) = await OneAsync(jobs, slots, keys: 0);
                var (keyed, keyedLoad) = await OneAsync(jobs, slots, keys: 100);
                Console.WriteLine($"| {round} | {slots} | {plain:N0} | {plainLoad} | {keyed:N0} | {keyedLoad} | {keyed / plain:P0} |");
            }
        }

        return 0;
    }

    private static async Task<(double Rate, string Load)> OneAsync(int jobs, int slots, int keys)
    {
        var path = Harness.TempFile("limits.db");
        var options = new LadderJobsOptions { Path = path, Prefetch = 64 };
        options.Queues["default"] = slots;
        await using var queue = JobQueue.Open(options);
        for (var start = 0; start < jobs; start += 1000)
        {
            await queue.EnqueueBatchAsync([.. Enumerable.Range(start, Math.Min(1000, jobs - start)).Select(i =>
                JobRequest.For(new Noop(i), keys == 0 ? null : new JobOptions { ConcurrencyKey = "key" + (i % keys), ConcurrencyLimit = 4 }))]);
        }

        var done = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Noop>(static (_, _, _) => Task.CompletedTask));
        processor.JobReported += (_, outcome) =>
        {
            if (outcome == JobOutcome.Succeeded && Interlocked.Increment(ref done) == jobs)
            {
                all.TrySetResult();
            }
        };
        var started = Stopwatch.GetTimestamp();
        await processor.StartAsync(CancellationToken.None);
        await all.Task;
        var elapsed = Stopwatch.GetElapsedTime(started);
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        await processor.StopAsync(CancellationToken.None);
        await queue.DisposeAsync();
        Harness.Delete(path);
        return (Harness.Rate(jobs, elapsed), load);
    }
}
