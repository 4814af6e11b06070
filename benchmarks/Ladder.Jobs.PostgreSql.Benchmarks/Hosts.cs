using System.Diagnostics;
using Ladder.PostgreSql.Testing;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// One host vs three: N no-op jobs enqueued up front, then burnt down by K child processes of this harness (each a
/// host: its own <see cref="JobQueue"/> over <c>UsePostgres(connectionString)</c>, a <see cref="JobProcessor"/>
/// with concurrency 4) on the same database. The clock starts when every host is open and told to go, and stops
/// when their reported successes add up to N. Each host reports its count on stdout every 20 ms.
/// </summary>
internal static class Hosts
{
    public sealed record Result(int Hosts, int Jobs, double ProcessRate, long[] PerHost);

    public static async Task<Result> RunAsync(PostgresServer server, int hosts, int jobs)
    {
        await using var dataSource = await Bench.DatabaseAsync(server, $"hosts{hosts}", maxPool: 8);
        await using (var producer = JobQueue.Open(new LadderJobsOptions().UsePostgres(dataSource, o => o.UseListenNotify = false)))
        {
            await StoreRunners.EnqueueAsync(producer, jobs);
        }

        var counts = new long[hosts];
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = new CountdownEvent(hosts);
        var processes = new List<Process>();
        try
        {
            for (var h = 0; h < hosts; h++)
            {
                var index = h;
                var start = new ProcessStartInfo("dotnet")
                {
                    RedirectStandardInput = true,
                    RedirectStandardOutput = true,
                    UseShellExecute = false,
                };
                start.ArgumentList.Add(typeof(Hosts).Assembly.Location);
                start.ArgumentList.Add("host");
                start.ArgumentList.Add(dataSource.ConnectionString);
                var process = Process.Start(start) ?? throw new InvalidOperationException("the host did not start");
                processes.Add(process);
                process.OutputDataReceived += (_, e) =>
                {
                    if (e.Data is null)
                    {
                        return;
                    }

                    if (e.Data == "ready")
                    {
                        ready.Signal();
                    }
                    else if (e.Data.StartsWith("count ", StringComparison.Ordinal))
                    {
                        long sum;
                        lock (counts)
                        {
                            counts[index] = long.Parse(e.Data[6..], System.Globalization.CultureInfo.InvariantCulture);
                            sum = counts.Sum();
                        }

                        if (sum >= jobs)
                        {
                            all.TrySetResult();
                        }
                    }
                };
                process.BeginOutputReadLine();
            }

            if (!ready.Wait(TimeSpan.FromMinutes(2)))
            {
                throw new TimeoutException("the hosts did not open within 2 minutes");
            }

            var clock = Stopwatch.GetTimestamp();
            foreach (var process in processes)
            {
                await process.StandardInput.WriteLineAsync("go");
                await process.StandardInput.FlushAsync();
            }

            await all.Task.WaitAsync(TimeSpan.FromMinutes(10));
            var elapsed = Stopwatch.GetElapsedTime(clock);
            foreach (var process in processes)
            {
                await process.StandardInput.WriteLineAsync("stop");
                await process.StandardInput.FlushAsync();
            }

            foreach (var process in processes)
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
            }

            lock (counts)
            {
                return new Result(hosts, jobs, Bench.Rate(jobs, elapsed), [.. counts]);
            }
        }
        finally
        {
            foreach (var process in processes)
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }

                process.Dispose();
            }
        }
    }

    /// <summary>The child: opens a host, says "ready", starts on "go", reports its successes, stops on "stop".</summary>
    public static async Task<int> ChildAsync(string connectionString)
    {
        var options = new LadderJobsOptions().UsePostgres(connectionString);
        options.Queues["default"] = 4;
        await using var queue = JobQueue.Open(options);
        using var succeeded = new SucceededCounter(long.MaxValue);
        await using var processor = new JobProcessor(queue, StoreRunners.Handlers());
        Console.WriteLine("ready");
        if (await Console.In.ReadLineAsync() != "go")
        {
            return 1;
        }

        await processor.StartAsync(CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var reporter = Task.Run(async () =>
        {
            long last = -1;
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    var now = succeeded.Count;
                    if (now != last)
                    {
                        Console.WriteLine($"count {now}");
                        last = now;
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });
        while (await Console.In.ReadLineAsync() is { } line && line != "stop")
        {
        }

        await stop.CancelAsync();
        await reporter;
        await processor.StopAsync(CancellationToken.None);
        return 0;
    }
}
