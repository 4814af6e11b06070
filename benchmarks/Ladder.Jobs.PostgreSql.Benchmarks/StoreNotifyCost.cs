using System.Diagnostics;
using Ladder.Jobs.Storage;
using Ladder.PostgreSql.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// The NOTIFY cost through the store itself: 8 producers, each calling <see cref="PostgresJobStore.EnqueueAsync"/>
/// with one job at a time for a fixed time, with the store's NOTIFY off (poll only), on for every enqueue (debounce
/// 0), and debounced (the default, 100 ms per queue); one listener counts the notifications that arrived.
/// </summary>
internal static class StoreNotifyCost
{
    public sealed record Result(string Variant, TimeSpan Duration, long Enqueues, long Notifications, List<double> EnqueueMs);

    public static async Task<Result> RunAsync(PostgresServer server, string variant, Action<PostgresJobStoreOptions> configure, int producers, TimeSpan duration)
    {
        await using var dataSource = await Bench.DatabaseAsync(server, "storenotify", maxPool: producers + 8);
        var options = new PostgresJobStoreOptions { Schema = "ladder_jobs" };
        configure(options);
        await using var store = new PostgresJobStore(dataSource, options);
        var context = new JobStoreContext(new LadderJobsOptions(), TimeProvider.System, NullLoggerFactory.Instance, _ => { }, _ => { });
        await store.OpenAsync(context, CancellationToken.None);

        long notifications = 0;
        using var stop = new CancellationTokenSource();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = Task.Run(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            connection.Notification += (_, _) => Interlocked.Increment(ref notifications);
            await using (var listen = new NpgsqlCommand("LISTEN ladder_jobs", connection))
            {
                await listen.ExecuteNonQueryAsync();
            }

            listening.SetResult();
            try
            {
                while (true)
                {
                    await connection.WaitAsync(stop.Token);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });
        await listening.Task;

        long enqueues = 0;
        var latencies = new List<double>[producers];
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        NewJob[] job = [new("default", "bench", "{\"n\":1}", 0, null, TimeSpan.Zero, 5, null, null, null)];
        var tasks = Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            var mine = latencies[p] = new List<double>(100_000);
            await gate.Task;
            var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() is var now && now < end)
            {
                await store.EnqueueAsync(job, CancellationToken.None);
                mine.Add(Bench.ElapsedMs(now, Stopwatch.GetTimestamp()));
                Interlocked.Increment(ref enqueues);
            }
        })).ToArray();
        var start = Stopwatch.GetTimestamp();
        gate.SetResult();
        await Task.WhenAll(tasks);
        var elapsed = Stopwatch.GetElapsedTime(start);

        // The debounced NOTIFY of the last window is sent after its end: count it before stopping the listener.
        await Task.Delay(options.NotifyDebounce + TimeSpan.FromMilliseconds(300));
        await stop.CancelAsync();
        await listener;
        var all = latencies.SelectMany(l => l).ToList();
        all.Sort();
        return new Result(variant, elapsed, enqueues, Interlocked.Read(ref notifications), all);
    }
}
