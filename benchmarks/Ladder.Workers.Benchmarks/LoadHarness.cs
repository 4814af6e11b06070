using System.Diagnostics;
using System.Globalization;

namespace Ladder.Workers.Benchmarks;

/// <summary>End-to-end numbers BenchmarkDotNet is not made for: throughput by worker count, deadline precision under load, capacity after a kill.</summary>
internal static class LoadHarness
{
    public static async Task RunAsync()
    {
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
        await ThroughputAsync();
        await DeadlineLatencyAsync();
        await CapacityRestoreAsync();
    }

    private static async Task ThroughputAsync()
    {
        Console.WriteLine("\n## Throughput: no-op bytes calls, 20,000 calls");
        Console.WriteLine("| workers | callers | calls/s | µs/call |");
        Console.WriteLine("| ---: | ---: | ---: | ---: |");
        foreach (var (workers, callers) in new[] { (1, 1), (1, 2), (2, 2), (2, 4), (4, 4), (4, 8) })
        {
            await using var pool = new WorkerPool(Paths.Options(workers, spare: false));
            await pool.WhenReadyAsync();
            var payload = new byte[16];
            for (var i = 0; i < 500; i++)
            {
                await pool.InvokeBytesAsync("bytes", payload);
            }

            const int calls = 20_000;
            var next = 0;
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
            {
                while (Interlocked.Increment(ref next) <= calls)
                {
                    await pool.InvokeBytesAsync("bytes", payload);
                }
            }));
            watch.Stop();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {workers} | {callers} | {calls / watch.Elapsed.TotalSeconds:N0} | {watch.Elapsed.TotalMicroseconds / calls:N1} |"));
        }
    }

    private static async Task DeadlineLatencyAsync()
    {
        Console.WriteLine("\n## Deadline → result under load: 2 workers + spare, 4 callers of no-op calls in the background,");
        Console.WriteLine("## 150 calls that hang (ignoring cancellation) under a 200 ms deadline; lateness = call time − queue wait − deadline");
        await using var pool = new WorkerPool(Paths.Options(workers: 2));
        await pool.WhenReadyAsync();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await pool.InvokeBytesAsync("bytes", new byte[16], null, stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }).ToArray();

        var deadline = TimeSpan.FromMilliseconds(200);
        var lateness = new List<double>();
        for (var i = 0; i < 150; i++)
        {
            var watch = Stopwatch.StartNew();
            var result = await pool.InvokeAsync<SleepRequest, int>("hang", new SleepRequest(10_000), new WorkerCallOptions { Deadline = deadline });
            watch.Stop();
            if (!result.WasTimeout)
            {
                throw new InvalidOperationException("expected a timeout");
            }

            lateness.Add((watch.Elapsed - result.QueueWait - deadline).TotalMilliseconds);
        }

        await stop.CancelAsync();
        await Task.WhenAll(load);
        lateness.Sort();
        Console.WriteLine("| p50 | p90 | p99 | max |");
        Console.WriteLine("| ---: | ---: | ---: | ---: |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {Pct(lateness, 50):N1} ms | {Pct(lateness, 90):N1} ms | {Pct(lateness, 99):N1} ms | {lateness[^1]:N1} ms |"));
        Console.WriteLine($"kills {pool.GetStats().Kills}, spawns {pool.GetStats().Spawns}");
    }

    private static async Task CapacityRestoreAsync()
    {
        Console.WriteLine("\n## Kill → capacity restored: 1 worker; a call hangs past a 100 ms deadline and is killed;");
        Console.WriteLine("## time from the timed-out result until the next no-op call has completed (20 rounds each)");
        var spawn = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var watch = Stopwatch.StartNew();
            await using var pool = new WorkerPool(Paths.Options(workers: 1, spare: false));
            await pool.WhenReadyAsync();
            spawn.Add(watch.Elapsed.TotalMilliseconds);
        }

        var rows = new List<(string, List<double>)> { ("bare spawn → ready (reference)", spawn) };
        foreach (var spare in new[] { true, false })
        {
            var restore = new List<double>();
            await using var pool = new WorkerPool(Paths.Options(workers: 1, spare));
            for (var i = 0; i < 20; i++)
            {
                await pool.WhenReadyAsync();
                await pool.InvokeAsync<SleepRequest, int>("hang", new SleepRequest(10_000), new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(100) });
                var watch = Stopwatch.StartNew();
                await pool.InvokeBytesAsync("bytes", new byte[16]);
                restore.Add(watch.Elapsed.TotalMilliseconds);
            }

            rows.Add((spare ? "with warm spare" : "without warm spare", restore));
        }

        Console.WriteLine("| scenario | median | p90 |");
        Console.WriteLine("| --- | ---: | ---: |");
        foreach (var (name, values) in rows)
        {
            values.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {Pct(values, 50):N1} ms | {Pct(values, 90):N1} ms |"));
        }
    }

    private static double Pct(List<double> sorted, int percentile) =>
        sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];

    private sealed record SleepRequest(int Ms);
}
