using System.Diagnostics;
using Hangfire;
using Hangfire.InMemory;
using Hangfire.Storage.SQLite;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Benchmarks;

/// <summary>Enqueue N no-op jobs (batched), then process them with concurrency 4; jobs/s of the processing phase.</summary>
internal static class BurnDown
{
    public static async Task<int> RunAsync(int jobs, bool rawOnly = false, int quartzJobs = 10_000, int hangfireSqliteJobs = 10_000)
    {
        if (rawOnly)
        {
            await RawSqliteAsync(jobs, explain: true);
            return 0;
        }

        Console.WriteLine($"burn-down: {jobs} no-op jobs, concurrency 4, synchronous=FULL unless noted; {Environment.ProcessorCount} cores");
        Console.WriteLine("| runner | enqueue jobs/s | process jobs/s |");
        Console.WriteLine("| --- | ---: | ---: |");
        await RawSqliteAsync(jobs);
        await LadderAsync(jobs, SynchronousMode.Full, prefetch: 16);
        await LadderAsync(jobs, SynchronousMode.Full, prefetch: 64);
        await LadderAsync(jobs, SynchronousMode.Full, prefetch: 256);
        await LadderAsync(jobs, SynchronousMode.Normal, prefetch: 256);
        await HangfireAsync(jobs);
        await QuartzAsync(Math.Min(jobs, quartzJobs));
        await HangfireSqliteAsync(Math.Min(jobs, hangfireSqliteJobs));
        return 0;
    }

    public static async Task<int> RunHangfireSqliteOnlyAsync(int jobs)
    {
        Console.WriteLine("| runner | enqueue jobs/s | process jobs/s |");
        Console.WriteLine("| --- | ---: | ---: |");
        await LadderAsync(jobs, SynchronousMode.Full, prefetch: 64);
        await HangfireSqliteAsync(jobs);
        return 0;
    }

    public static async Task<int> RunLadderOnlyAsync(int jobs)
    {
        Console.WriteLine("| runner | enqueue jobs/s | process jobs/s |");
        Console.WriteLine("| --- | ---: | ---: |");
        await LadderAsync(jobs, SynchronousMode.Full, prefetch: 64);
        await LadderAsync(jobs, SynchronousMode.Full, prefetch: 256);
        return 0;
    }

    public static async Task<int> RunQuartzOnlyAsync(int jobs)
    {
        await QuartzAsync(jobs);
        return 0;
    }

    private static async Task LadderAsync(int jobs, SynchronousMode mode, int prefetch)
    {
        var path = Harness.TempFile("ladder.db");
        var options = new LadderJobsOptions { Path = path, Synchronous = mode, Prefetch = prefetch };
        options.Queues["default"] = 4;
        await using var queue = JobQueue.Open(options);
        var enqueue = Stopwatch.GetTimestamp();
        for (var start = 0; start < jobs; start += 1000)
        {
            await queue.EnqueueBatchAsync([.. Enumerable.Range(start, Math.Min(1000, jobs - start)).Select(i => JobRequest.For(new Noop(i)))]);
        }

        var enqueueElapsed = Stopwatch.GetElapsedTime(enqueue);
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
        var process = Stopwatch.GetTimestamp();
        var before = queue.WriterStats;
        await processor.StartAsync(CancellationToken.None);
        await all.Task;
        var processElapsed = Stopwatch.GetElapsedTime(process);
        await processor.StopAsync(CancellationToken.None);
        var after = queue.WriterStats;
        Console.WriteLine($"| Ladder.Jobs ({mode}, prefetch {prefetch}) | {Harness.Rate(jobs, enqueueElapsed):N0} | {Harness.Rate(jobs, processElapsed):N0} |");
        Console.Error.WriteLine($"  ({mode}, prefetch {prefetch}): {after.Batches - before.Batches} commits, {jobs / (double)Math.Max(1, after.Batches - before.Batches):F1} jobs per commit, {(after.Operations - before.Operations) / (double)Math.Max(1, after.Batches - before.Batches):F1} writer operations per commit (a commit's completions are one operation)");
        await queue.DisposeAsync();
        Harness.Delete(path);
    }

    // The ceiling: one thread, the same three writes per job (insert, claim, complete) on the same schema, 64 jobs per transaction.
    private static async Task RawSqliteAsync(int jobs, bool explain = false)
    {
        var path = Harness.TempFile("raw.db");
        await using (JobQueue.Open(new LadderJobsOptions { Path = path }))
        {
            // Creates the same schema and indexes.
        }

        await using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
        connection.Open();
        Exec(connection, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
        using var insert = Command(connection, "INSERT INTO ladder_jobs(queue, kind, payload, state, priority, run_at, max_attempts, created_at) VALUES('default', 'noop', $p, 1, 0, 0, 5, 0);", "$p");
        using var select = Command(connection, "SELECT id FROM ladder_jobs WHERE queue = 'default' AND state IN (0, 1, 4) AND run_at <= $e ORDER BY priority DESC, run_at, id LIMIT 64;", "$e");
        using var claim = Command(connection, "UPDATE ladder_jobs SET state = 2, lease_token = 1, lease_expires_at = $e, attempts = attempts + 1, started_at = $e WHERE id = $id;", "$e", "$id");
        using var complete = Command(connection, "UPDATE ladder_jobs SET state = 3, finished_at = $e, lease_token = NULL, lease_expires_at = NULL WHERE id = $id AND state = 2 AND lease_token = 1;", "$e", "$id");
        var enqueue = Stopwatch.GetTimestamp();
        for (var start = 0; start < jobs; start += 64)
        {
            Exec(connection, "BEGIN IMMEDIATE;");
            for (var i = start; i < Math.Min(jobs, start + 64); i++)
            {
                insert.Parameters[0].Value = $"{{\"n\":{i}}}";
                insert.ExecuteNonQuery();
            }

            Exec(connection, "COMMIT;");
        }

        var enqueueElapsed = Stopwatch.GetElapsedTime(enqueue);
        if (explain)
        {
            using var plan = connection.CreateCommand();
            plan.CommandText = "EXPLAIN QUERY PLAN " + select.CommandText;
            plan.Parameters.AddWithValue("$e", 1L);
            using var r = plan.ExecuteReader();
            while (r.Read())
            {
                Console.Error.WriteLine("  plan: " + r.GetString(3));
            }
        }

        var process = Stopwatch.GetTimestamp();
        var ids = new List<long>(64);
        var phases = new double[3];
        var processed = 0;
        while (processed < jobs)
        {
            // One transaction per batch: complete the previous 64, claim the next 64 (one fsync per 64 jobs).
            var t0 = Stopwatch.GetTimestamp();
            using var tx = connection.BeginTransaction();
            select.Transaction = tx;
            claim.Transaction = tx;
            complete.Transaction = tx;
            foreach (var id in ids)
            {
                complete.Parameters[0].Value = 2L;
                complete.Parameters[1].Value = id;
                complete.ExecuteNonQuery();
            }

            processed += ids.Count;
            ids.Clear();
            var ts = Stopwatch.GetTimestamp();
            select.Parameters[0].Value = 1L;
            using (var reader = select.ExecuteReader())
            {
                while (reader.Read())
                {
                    ids.Add(reader.GetInt64(0));
                }
            }

            phases[0] += Stopwatch.GetElapsedTime(ts).TotalMilliseconds;
            foreach (var id in ids)
            {
                claim.Parameters[0].Value = 1L;
                claim.Parameters[1].Value = id;
                claim.ExecuteNonQuery();
            }

            var t1 = Stopwatch.GetTimestamp();
            tx.Commit();
            phases[2] += Stopwatch.GetElapsedTime(t1).TotalMilliseconds;
            phases[1] += Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        if (explain)
        {
            Console.Error.WriteLine($"  select {phases[0]:F0} ms, batch total {phases[1]:F0} ms, commit {phases[2]:F0} ms");
        }

        var processElapsed = Stopwatch.GetElapsedTime(process);
        Console.WriteLine($"| raw Microsoft.Data.Sqlite, batches of 64 (ceiling) | {Harness.Rate(jobs, enqueueElapsed):N0} | {Harness.Rate(jobs, processElapsed):N0} |");
        connection.Close();
        Harness.Delete(path);
    }

    private static async Task HangfireAsync(int jobs)
    {
        HangfireCounter.Reset(jobs);
        var storage = new InMemoryStorage(new InMemoryStorageOptions());
        JobStorage.Current = storage;
        var client = new BackgroundJobClient(storage);
        var enqueue = Stopwatch.GetTimestamp();
        for (var i = 0; i < jobs; i++)
        {
            client.Enqueue(() => HangfireCounter.Noop());
        }

        var enqueueElapsed = Stopwatch.GetElapsedTime(enqueue);
        var process = Stopwatch.GetTimestamp();
        using (new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = 4 }, storage))
        {
            await HangfireCounter.All.Task;
            var processElapsed = Stopwatch.GetElapsedTime(process);
            Console.WriteLine($"| Hangfire 1.8 + Hangfire.InMemory (not durable) | {Harness.Rate(jobs, enqueueElapsed):N0} | {Harness.Rate(jobs, processElapsed):N0} |");
        }
    }

    // The durable peer: Hangfire 1.8 on Hangfire.Storage.SQLite (sqlite-net), WAL like Ladder, SQLite's default
    // synchronous (FULL in this build), a 100 ms queue poll instead of 15 s (only helps it). Several transactions per
    // job, so it runs fewer jobs (stated in the row) and stops at a ceiling: the rate is over what finished.
    private static async Task HangfireSqliteAsync(int jobs)
    {
        var path = Harness.TempFile("hangfire.db");
        HangfireCounter.Reset(jobs);
        var storage = new SQLiteStorage(path, new SQLiteStorageOptions { JournalMode = SQLiteStorageOptions.JournalModes.WAL, QueuePollInterval = TimeSpan.FromMilliseconds(100) });
        JobStorage.Current = storage;
        var client = new BackgroundJobClient(storage);
        var enqueue = Stopwatch.GetTimestamp();
        for (var i = 0; i < jobs; i++)
        {
            client.Enqueue(() => HangfireCounter.Noop());
        }

        var enqueueElapsed = Stopwatch.GetElapsedTime(enqueue);
        var process = Stopwatch.GetTimestamp();
        using (new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = 4 }, storage))
        {
            var ceiling = TimeSpan.FromMinutes(3);
            var finished = await Task.WhenAny(HangfireCounter.All.Task, Task.Delay(ceiling)) == HangfireCounter.All.Task;
            var processElapsed = Stopwatch.GetElapsedTime(process);
            var done = jobs - HangfireCounter.Remaining;
            var note = finished ? $"{jobs:N0} jobs" : $"stopped at {ceiling.TotalMinutes:F0} min: {done:N0} of {jobs:N0} jobs";
            Console.WriteLine($"| Hangfire 1.8 + Hangfire.Storage.SQLite 0.4 (durable, WAL), 4 workers ({note}) | {Harness.Rate(jobs, enqueueElapsed):N0} | {Harness.Rate(done, processElapsed):N0} |");
        }

        Harness.Delete(path);
    }

    // Quartz's ADO store does a few transactions per fired trigger, so it runs fewer jobs (stated in the row) and
    // stops at a ceiling: the rate is over what finished.
    private static async Task QuartzAsync(int jobs)
    {
        QuartzNoopJob.Reset(jobs);
        await using var quartz = await QuartzPeer.CreateAsync(threads: 4);
        var enqueue = Stopwatch.GetTimestamp();
        await quartz.ScheduleAsync(0, jobs);
        var enqueueElapsed = Stopwatch.GetElapsedTime(enqueue);
        var process = Stopwatch.GetTimestamp();
        await quartz.Scheduler.Start();
        var startElapsed = Stopwatch.GetElapsedTime(process);
        var ceiling = TimeSpan.FromMinutes(3);
        var finished = await Task.WhenAny(QuartzNoopJob.All.Task, Task.Delay(ceiling)) == QuartzNoopJob.All.Task;
        var processElapsed = Stopwatch.GetElapsedTime(process);
        var done = jobs - QuartzNoopJob.Remaining;
        await quartz.Scheduler.Standby();
        var note = finished ? $"{jobs:N0} jobs" : $"stopped at {ceiling.TotalMinutes:F0} min: {done:N0} of {jobs:N0} jobs";
        Console.Error.WriteLine($"  (Quartz): {quartz.DescribeStorage()}; Start() returned after {startElapsed.TotalMilliseconds:F0} ms");
        Console.WriteLine($"| Quartz.NET 4.7 ADO store on SQLite, 4 threads ({note}) | {Harness.Rate(jobs, enqueueElapsed):N0} | {Harness.Rate(done, processElapsed):N0} |");
    }

    internal static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var p in parameters)
        {
            command.Parameters.Add(p == "$p" ? new SqliteParameter(p, SqliteType.Text) : new SqliteParameter(p, SqliteType.Integer));
        }

        return command;
    }
}

public static class HangfireCounter
{
    private static int _remaining;

    public static TaskCompletionSource All { get; private set; } = new();

    public static TaskCompletionSource<long> Started { get; set; } = new();

    public static int Remaining => Volatile.Read(ref _remaining);

    public static void Start() => Started.TrySetResult(Stopwatch.GetTimestamp());

    public static void Reset(int jobs)
    {
        _remaining = jobs;
        All = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public static void Noop()
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            All.TrySetResult();
        }
    }
}
