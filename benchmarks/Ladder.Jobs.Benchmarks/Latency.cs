using System.Diagnostics;

namespace Ladder.Jobs.Benchmarks;

/// <summary>Enqueue → handler start on an idle queue, in-process, one job at a time (synchronous=FULL).</summary>
internal static class Latency
{
    public static async Task<int> RunAsync(int samples)
    {
        var path = Harness.TempFile("latency.db");
        var options = new LadderJobsOptions { Path = path };
        await using var queue = JobQueue.Open(options);
        TaskCompletionSource<long> started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Noop>((_, _, _) =>
        {
            started.TrySetResult(Stopwatch.GetTimestamp());
            return Task.CompletedTask;
        }));
        await processor.StartAsync(CancellationToken.None);
        var latencies = new List<double>(samples);
        for (var i = 0; i < samples + 50; i++)
        {
            started = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            var before = Stopwatch.GetTimestamp();
            await queue.EnqueueAsync(new Noop(i));
            var at = await started.Task;
            if (i >= 50)
            {
                latencies.Add(Stopwatch.GetElapsedTime(before, at).TotalMilliseconds);
            }

            // Let the completion commit so the next sample starts on an idle queue.
            await Task.Delay(2);
        }

        latencies.Sort();
        double P(double q) => latencies[(int)Math.Min(latencies.Count - 1, Math.Round(q * (latencies.Count - 1)))];
        Console.WriteLine($"latency enqueue→handler start, {samples} samples (after 50 warm-up), synchronous=FULL, idle queue:");
        Console.WriteLine($"| p50 | p90 | p99 | max |");
        Console.WriteLine($"| ---: | ---: | ---: | ---: |");
        Console.WriteLine($"| {P(0.5):F2} ms | {P(0.9):F2} ms | {P(0.99):F2} ms | {latencies[^1]:F2} ms |");
        await processor.StopAsync(CancellationToken.None);
        await queue.DisposeAsync();
        Harness.Delete(path);
        return 0;
    }
}
