using System.Diagnostics;

namespace Ladder.Jobs.Benchmarks;

/// <summary>Process memory while a processor works through a queue of a given depth: it must not grow with depth.</summary>
internal static class MemoryVsDepth
{
    public static async Task<int> RunAsync(int[] depths)
    {
        if (depths.Length == 0)
        {
            depths = [1_000, 100_000, 1_000_000];
        }

        Console.WriteLine("memory while processing 5,000 jobs from a queue of the given depth (concurrency 4, prefetch 16):");
        Console.WriteLine("| queued jobs | managed heap after GC | working set |");
        Console.WriteLine("| ---: | ---: | ---: |");
        foreach (var depth in depths)
        {
            var path = Harness.TempFile("memory.db");
            var options = new LadderJobsOptions { Path = path, Synchronous = SynchronousMode.Normal };
            await using var queue = JobQueue.Open(options);
            for (var start = 0; start < depth; start += 5000)
            {
                await queue.EnqueueBatchAsync([.. Enumerable.Range(start, Math.Min(5000, depth - start)).Select(i => JobRequest.For(new Noop(i)))]);
            }

            var done = 0;
            var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Noop>((_, _, _) =>
            {
                if (Interlocked.Increment(ref done) == Math.Min(depth, 5000))
                {
                    enough.TrySetResult();
                }

                return Task.CompletedTask;
            }));
            await processor.StartAsync(CancellationToken.None);
            await enough.Task;
            var heap = GC.GetTotalMemory(forceFullCollection: true);
            using var self = Process.GetCurrentProcess();
            Console.WriteLine($"| {depth:N0} | {heap / 1024.0 / 1024.0:F1} MB | {self.WorkingSet64 / 1024.0 / 1024.0:F1} MB |");
            await processor.StopAsync(CancellationToken.None);
            await queue.DisposeAsync();
            Harness.Delete(path);
        }

        return 0;
    }
}
