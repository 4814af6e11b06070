using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// Ladder.Jobs as a user runs it: <see cref="JobQueue"/> + <see cref="JobProcessor"/> over the PostgreSQL store
/// (<c>UsePostgres</c>, a fresh database of the same server) or over the SQLite store (a temp file): N no-op jobs
/// enqueued in batches of 1,000 through <see cref="JobQueue.EnqueueBatchAsync"/>, then processed with concurrency 4.
/// Successes are counted through the public <c>ladder.jobs.succeeded</c> counter of the <c>Ladder.Jobs</c> meter,
/// which the processor adds to after the completion is written.
/// </summary>
internal static class StoreRunners
{
    public sealed record Result(string Runner, int Jobs, double EnqueueRate, double ProcessRate);

    public static async Task<Result> PostgresAsync(PostgresServer server, int jobs, string runner = "Ladder.Jobs on PostgreSQL (UsePostgres)", Action<PostgresJobStoreOptions>? configure = null, int concurrency = 4)
    {
        await using var dataSource = await Bench.DatabaseAsync(server, "ladder_pg", maxPool: 32);
        var options = new LadderJobsOptions().UsePostgres(dataSource, configure);
        options.Queues["default"] = concurrency;
        await using var queue = JobQueue.Open(options);
        return await BurnDownAsync(queue, runner, jobs);
    }

    public static async Task<Result> SqliteAsync(int jobs, string runner = "(c) Ladder.Jobs on SQLite (synchronous=FULL, prefetch 64)")
    {
        var folder = Path.Combine(Path.GetTempPath(), "ladder-pg-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var options = new LadderJobsOptions { Path = Path.Combine(folder, "jobs.db") };
            options.Queues["default"] = 4;
            await using var queue = JobQueue.Open(options);
            return await BurnDownAsync(queue, runner, jobs);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Enqueues <paramref name="jobs"/> no-op jobs in batches of 1,000.</summary>
    public static async Task EnqueueAsync(JobQueue queue, int jobs, int offset = 0)
    {
        for (var start = 0; start < jobs; start += 1000)
        {
            await queue.EnqueueBatchAsync([.. Enumerable.Range(offset + start, Math.Min(1000, jobs - start)).Select(i => JobRequest.For(new Noop(i)))]);
        }
    }

    public static JobHandlerRegistry Handlers(Action? onRun = null) =>
        new JobHandlerRegistry().Add<Noop>((_, _, _) =>
        {
            onRun?.Invoke();
            return Task.CompletedTask;
        });

    private static async Task<Result> BurnDownAsync(JobQueue queue, string runner, int jobs)
    {
        var enqueue = Stopwatch.GetTimestamp();
        await EnqueueAsync(queue, jobs);
        var enqueueElapsed = Stopwatch.GetElapsedTime(enqueue);
        using var succeeded = new SucceededCounter(jobs);
        await using var processor = new JobProcessor(queue, Handlers());
        var process = Stopwatch.GetTimestamp();
        await processor.StartAsync(CancellationToken.None);
        // Progress to stderr every 2 s: a rate that falls as the run goes on shows up here.
        long last = 0;
        while (await Task.WhenAny(succeeded.All.Task, Task.Delay(TimeSpan.FromSeconds(2))) != succeeded.All.Task)
        {
            var now = succeeded.Count;
            Console.Error.WriteLine($"  ({runner}) {Stopwatch.GetElapsedTime(process).TotalSeconds:F0} s: {now:N0} done, {(now - last) / 2.0:N0} jobs/s, {Bench.Load()}");
            last = now;
        }

        var elapsed = Stopwatch.GetElapsedTime(process);
        await processor.StopAsync(CancellationToken.None);
        return new Result(runner, jobs, Bench.Rate(jobs, enqueueElapsed), Bench.Rate(jobs, elapsed));
    }
}

/// <summary>Counts the <c>ladder.jobs.succeeded</c> measurements of this process (the public meter) and signals at a target.</summary>
internal sealed class SucceededCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly long _target;
    private long _count;

    public SucceededCounter(long target, Action<long>? onCount = null)
    {
        _target = target;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Ladder.Jobs" && instrument.Name == "ladder.jobs.succeeded")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            var now = Interlocked.Add(ref _count, value);
            onCount?.Invoke(now);
            if (now >= _target)
            {
                All.TrySetResult();
            }
        });
        _listener.Start();
    }

    public TaskCompletionSource All { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long Count => Interlocked.Read(ref _count);

    public void Dispose() => _listener.Dispose();
}

/// <summary>The no-op job of the store runners.</summary>
[JobKind("noop")]
public sealed record Noop(int N);
