using System.Diagnostics;
using Hangfire;
using Hangfire.InMemory;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Benchmarks;

/// <summary>
/// Enqueue → handler start on an idle queue, in-process, one job at a time (synchronous=FULL). Each Ladder sample is
/// paired with a storage floor measured right before it on the same disk: the same two commits done inline on one
/// thread (the enqueue's insert at FULL, then the claim's update at NORMAL), so load hits both alike and the gap between
/// them is what the hops and the bookkeeping cost. Then the peers: Hangfire.InMemory and Quartz.NET's ADO store.
/// </summary>
internal static class Latency
{
    private const int WarmUp = 50;

    public static async Task<int> RunAsync(int samples, int peerSamples = 200)
    {
        Console.WriteLine($"latency enqueue→handler start, idle queue, {samples} samples after {WarmUp} warm-up (peers: {peerSamples}); {Environment.ProcessorCount} cores");
        Console.WriteLine("| runner | p50 | p90 | p99 | max |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        var path = Harness.TempFile("latency.db");
        var floorPath = Harness.TempFile("floor.db");
        await using var queue = JobQueue.Open(new LadderJobsOptions { Path = path });
        await using (JobQueue.Open(new LadderJobsOptions { Path = floorPath }))
        {
            // Creates the same schema and indexes for the floor.
        }

        using var floor = new StorageFloor(floorPath);
        TaskCompletionSource<long> started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Noop>((_, _, _) =>
        {
            started.TrySetResult(Stopwatch.GetTimestamp());
            return Task.CompletedTask;
        }));
        await processor.StartAsync(CancellationToken.None);
        var floors = new List<double>(samples);
        var floorFull = new List<double>(samples);
        var floorNormal = new List<double>(samples);
        var acks = new List<double>(samples);
        var starts = new List<double>(samples);
        for (var i = 0; i < samples + WarmUp; i++)
        {
            var (full, normal) = floor.Sample();
            started = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            var before = Stopwatch.GetTimestamp();
            await queue.EnqueueAsync(new Noop(i));
            var acked = Stopwatch.GetTimestamp();
            var at = await started.Task;
            if (i >= WarmUp)
            {
                floors.Add(full + normal);
                floorFull.Add(full);
                floorNormal.Add(normal);
                acks.Add(Stopwatch.GetElapsedTime(before, acked).TotalMilliseconds);
                starts.Add(Stopwatch.GetElapsedTime(before, at).TotalMilliseconds);
            }

            // Let the completion commit so the next sample starts on an idle queue.
            await Task.Delay(2);
        }

        await processor.StopAsync(CancellationToken.None);
        await queue.DisposeAsync();
        Harness.Delete(path);
        Harness.Delete(floorPath);

        Row("floor, inline on one thread: the enqueue's insert commit (FULL, flushed)", floorFull);
        Row("floor, inline on one thread: the claim's update commit (NORMAL, not flushed)", floorNormal);
        Row("storage floor: both commits, inline, no hops", floors);
        Row("Ladder.Jobs: EnqueueAsync returned (enqueue committed, FULL)", acks);
        Row("**Ladder.Jobs: handler started**", starts);
        Console.WriteLine($"  Ladder handler start vs floor, p50: {Percentile(starts, 0.5) / Percentile(floors, 0.5):F2}×; hops and bookkeeping above the floor, p50: {Percentile(starts, 0.5) - Percentile(floors, 0.5):F2} ms");
        await HangfireAsync(peerSamples);
        await QuartzAsync(peerSamples);
        return 0;
    }

    private static async Task HangfireAsync(int samples)
    {
        var storage = new InMemoryStorage(new InMemoryStorageOptions());
        var client = new BackgroundJobClient(storage);
        var starts = new List<double>(samples);
        using (new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = 4 }, storage))
        {
            for (var i = 0; i < samples + WarmUp; i++)
            {
                HangfireCounter.Started = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                var before = Stopwatch.GetTimestamp();
                client.Enqueue(() => HangfireCounter.Start());
                var at = await HangfireCounter.Started.Task;
                if (i >= WarmUp)
                {
                    starts.Add(Stopwatch.GetElapsedTime(before, at).TotalMilliseconds);
                }

                await Task.Delay(2);
            }
        }

        Row("Hangfire 1.8 + Hangfire.InMemory, 4 workers (not durable)", starts);
    }

    private static async Task QuartzAsync(int samples)
    {
        QuartzNoopJob.Reset(int.MaxValue);
        await using var quartz = await QuartzPeer.CreateAsync(threads: 4);
        await quartz.Scheduler.Start();
        var starts = new List<double>(samples);
        for (var i = 0; i < samples + WarmUp; i++)
        {
            QuartzNoopJob.Started = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            var before = Stopwatch.GetTimestamp();
            await quartz.ScheduleOneAsync(i);
            var at = await QuartzNoopJob.Started.Task;
            if (i >= WarmUp)
            {
                starts.Add(Stopwatch.GetElapsedTime(before, at).TotalMilliseconds);
            }

            await Task.Delay(2);
        }

        Row("Quartz.NET 4.7 ADO store on SQLite, 4 threads (ScheduleJob with a fire-now trigger)", starts);
    }

    private static void Row(string name, List<double> values)
    {
        values.Sort();
        Console.WriteLine($"| {name} | {Percentile(values, 0.5):F2} ms | {Percentile(values, 0.9):F2} ms | {Percentile(values, 0.99):F2} ms | {values[^1]:F2} ms |");
    }

    private static double Percentile(List<double> sorted, double q)
    {
        var copy = sorted.ToList();
        copy.Sort();
        return copy[(int)Math.Min(copy.Count - 1, Math.Round(q * (copy.Count - 1)))];
    }

    /// <summary>The least the storage must do for one job to start: Ladder's two commits, inline.</summary>
    private sealed class StorageFloor : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _insert;
        private readonly SqliteCommand _claim;
        private readonly SqliteCommand _full;
        private readonly SqliteCommand _normal;
        private readonly SqliteCommand _begin;
        private readonly SqliteCommand _commit;

        public StorageFloor(string path)
        {
            _connection = new SqliteConnection($"Data Source={path};Pooling=false");
            _connection.Open();
            using (var wal = _connection.CreateCommand())
            {
                wal.CommandText = "PRAGMA journal_mode = WAL;";
                wal.ExecuteNonQuery();
            }

            _insert = Create("INSERT INTO ladder_jobs(queue, kind, payload, state, priority, run_at, max_attempts, created_at) VALUES('default', 'noop', '{\"n\":1}', 1, 0, 0, 5, 0) RETURNING id;");
            _claim = Create("UPDATE ladder_jobs SET state = 2, lease_token = 1, lease_expires_at = 1, attempts = attempts + 1, started_at = 1 WHERE id IN (SELECT id FROM ladder_jobs WHERE queue = 'default' AND state IN (0, 1, 4) AND run_at <= 1 ORDER BY priority DESC, run_at, id LIMIT 1) RETURNING id;");
            _full = Create("PRAGMA synchronous = FULL;");
            _normal = Create("PRAGMA synchronous = NORMAL;");
            _begin = Create("BEGIN IMMEDIATE;");
            _commit = Create("COMMIT;");
        }

        public (double Full, double Normal) Sample()
        {
            var start = Stopwatch.GetTimestamp();
            _full.ExecuteNonQuery();
            _begin.ExecuteNonQuery();
            _insert.ExecuteScalar();
            _commit.ExecuteNonQuery();
            var middle = Stopwatch.GetTimestamp();
            _normal.ExecuteNonQuery();
            _begin.ExecuteNonQuery();
            _claim.ExecuteScalar();
            _commit.ExecuteNonQuery();
            return (Stopwatch.GetElapsedTime(start, middle).TotalMilliseconds, Stopwatch.GetElapsedTime(middle).TotalMilliseconds);
        }

        private SqliteCommand Create(string sql)
        {
            var command = _connection.CreateCommand();
            command.CommandText = sql;
            return command;
        }

        public void Dispose()
        {
            foreach (var command in new[] { _insert, _claim, _full, _normal, _begin, _commit })
            {
                command.Dispose();
            }

            _connection.Dispose();
        }
    }
}
