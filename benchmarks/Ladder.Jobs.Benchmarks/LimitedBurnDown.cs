using System.Diagnostics;

namespace Ladder.Jobs.Benchmarks;

/// <summary>
/// Issue #14's performance item on SQLite: a burn-down of no-op jobs over 100 concurrency keys (limit 4 per key) beside
/// the plain burn-down of the same jobs without keys, interleaved in one run (plain, keyed, plain, keyed, ...), at two
/// processor sizes, after a warm-up pair that is not reported; jobs/s of the processing phase and the keyed/plain ratio
/// of each pair, with the load average.
/// </summary>
internal static class LimitedBurnDown
{
    public static async Task<int> RunAsync(int jobs, int rounds)
    {
        Console.WriteLine($"limits-burn-down: {jobs:N0} no-op jobs, plain vs 100 concurrency keys x limit 4, synchronous=FULL, prefetch 64; {Environment.ProcessorCount} cores; {rounds} rounds");
        // A warm-up of each kind, not reported: every round then runs code the JIT has finished tiering. Without it the
        // first pairs ran their first seconds on unoptimised code (perf: the JIT took about a tenth of the samples of a
        // cold burn-down's processing phase), and the keyed claim, more code, paid more of it.
        await OneAsync(Math.Min(jobs, 20_000), 4, keys: 0);
        await OneAsync(Math.Min(jobs, 20_000), 4, keys: 100);
        Console.WriteLine("| round | slots | plain jobs/s | load | CPU ms / 1,000 | keyed jobs/s | load | CPU ms / 1,000 | keyed / plain |");
        Console.WriteLine("| ---: | ---: | ---: | --- | ---: | ---: | --- | ---: | ---: |");
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var slots in (int[])[4, 16])
            {
                var (plain, plainLoad, plainCpu) = await OneAsync(jobs, slots, keys: 0);
                var (keyed, keyedLoad, keyedCpu) = await OneAsync(jobs, slots, keys: 100);
                Console.WriteLine($"| {round} | {slots} | {plain:N0} | {plainLoad} | {plainCpu:N0} | {keyed:N0} | {keyedLoad} | {keyedCpu:N0} | {keyed / plain:P0} |");
            }
        }

        return 0;
    }

    // One burn-down alone (for a profiler): keys 0 is the plain one.
    public static async Task<int> RunOneAsync(int jobs, int slots, int keys)
    {
        var (rate, load, cpu) = await OneAsync(jobs, slots, keys);
        Console.WriteLine($"{jobs:N0} jobs, {slots} slots, {keys} keys: {rate:N0} jobs/s, process CPU {cpu:N0} ms per 1,000 jobs, load {load}");
        return 0;
    }

    private static async Task<(double Rate, string Load, double CpuMsPer1000)> OneAsync(int jobs, int slots, int keys)
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

        if (Environment.GetEnvironmentVariable("LADDER_BENCH_ANALYZE") == "1")
        {
            // Statistics taken now (every job waiting with a key, or none with one), as a user's ANALYZE or PRAGMA
            // optimize would write them: the claims must keep their plans (QueryPlanTests).
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false");
            connection.Open();
            BurnDown.Exec(connection, "ANALYZE;");
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
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        await processor.StartAsync(CancellationToken.None);
        await all.Task;
        var elapsed = Stopwatch.GetElapsedTime(started);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        await processor.StopAsync(CancellationToken.None);
        await queue.DisposeAsync();
        Harness.Delete(path);
        return (Harness.Rate(jobs, elapsed), load, cpu.TotalMilliseconds * 1000 / jobs);
    }
}
