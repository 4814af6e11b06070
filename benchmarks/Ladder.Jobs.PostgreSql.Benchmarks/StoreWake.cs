using System.Diagnostics;
using Ladder.PostgreSql.Testing;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// Wake latency through the store: host A (a <see cref="JobQueue"/> over <c>UsePostgres(connectionString)</c>, no processor) enqueues
/// one job into an idle queue; host B (another such <see cref="JobQueue"/>, its own data source, and a
/// <see cref="JobProcessor"/>, concurrency 4) runs it. Measured from just before A's <c>EnqueueAsync</c> to the start
/// of B's handler (one process, so one clock). Jobs are enqueued one at a time, each after the previous one ran, with
/// a random pause (longer than the NOTIFY debounce, so every enqueue is an idle one; and a random phase against B's poll).
/// </summary>
internal static class StoreWake
{
    public sealed record Result(string Mode, List<double> EnqueueToStart, List<double> EnqueueCall);

    public static async Task<Result> RunAsync(PostgresServer server, string mode, bool listen, TimeSpan poll, int samples, int warmup, TimeSpan minPause, TimeSpan maxPause)
    {
        // One database; each host is configured the one-line way, UsePostgres(connectionString): each store builds and
        // owns its data source (two pools, as two hosts would have).
        await using var database = await Bench.DatabaseAsync(server, "store_wake", maxPool: 8);
        var connectionString = database.ConnectionString;
        await using var producer = JobQueue.Open(new LadderJobsOptions { PollInterval = TimeSpan.FromMinutes(10) }.UsePostgres(connectionString, o => o.UseListenNotify = listen));
        var consumerOptions = new LadderJobsOptions { PollInterval = poll }.UsePostgres(connectionString, o => o.UseListenNotify = listen);
        await using var consumer = JobQueue.Open(consumerOptions);
        TaskCompletionSource<long>? started = null;
        await using var processor = new JobProcessor(consumer, StoreRunners.Handlers(() => Volatile.Read(ref started)?.TrySetResult(Stopwatch.GetTimestamp())));
        await processor.StartAsync(CancellationToken.None);
        var toStart = new List<double>(samples);
        var call = new List<double>(samples);
        var random = new Random(42);
        for (var i = 0; i < warmup + samples; i++)
        {
            await Task.Delay(minPause + (maxPause - minPause) * random.NextDouble());
            var signal = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref started, signal);
            var before = Stopwatch.GetTimestamp();
            await producer.EnqueueAsync(JobRequest.For(new Noop(i)));
            var returned = Stopwatch.GetTimestamp();
            var at = await signal.Task.WaitAsync(TimeSpan.FromSeconds(30));
            if (i >= warmup)
            {
                toStart.Add(Bench.ElapsedMs(before, at));
                call.Add(Bench.ElapsedMs(before, returned));
            }
        }

        await processor.StopAsync(CancellationToken.None);
        toStart.Sort();
        call.Sort();
        return new Result(mode, toStart, call);
    }
}
