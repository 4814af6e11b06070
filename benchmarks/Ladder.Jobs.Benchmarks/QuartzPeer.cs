using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Quartz;

namespace Ladder.Jobs.Benchmarks;

/// <summary>
/// Peer (c): Quartz.NET 4.7 with its ADO job store on a SQLite file (Microsoft.Data.Sqlite), a thread pool of 4.
/// A "job" is what a queue user would write with Quartz: one job detail plus one fire-now trigger.
/// </summary>
internal sealed class QuartzPeer : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private QuartzPeer(ServiceProvider services, IScheduler scheduler, string path)
    {
        _services = services;
        Scheduler = scheduler;
        Path = path;
    }

    public IScheduler Scheduler { get; }

    public string Path { get; }

    /// <summary>Builds a scheduler in standby on a fresh SQLite file (WAL, synchronous=FULL, like Ladder's default).</summary>
    public static async Task<QuartzPeer> CreateAsync(int threads)
    {
        var path = Harness.TempFile("quartz.db");
        // WAL is a property of the file, so set once here it holds for every pooled connection Quartz opens;
        // synchronous=FULL is SQLite's compiled default for e_sqlite3, which those connections keep.
        await using (var setup = new SqliteConnection($"Data Source={path}"))
        {
            await setup.OpenAsync();
            await using var pragma = setup.CreateCommand();
            pragma.CommandText = "PRAGMA journal_mode = WAL;";
            await pragma.ExecuteNonQueryAsync();
        }

        var services = new ServiceCollection();
        services.AddTransient<QuartzNoopJob>();
        services.AddQuartz(q =>
        {
            q.UseDefaultThreadPool(threads);
            q.UsePersistentStore(store =>
            {
                // Microsoft.Data.Sqlite's default pooling: the store opens a connection per operation, and with
                // Pooling=False each open cost ~200 ms per fired job here (6 jobs/s against 84 in a 40-job smoke run).
                store.UseSqlite($"Data Source={path};Default Timeout=30");
                // The 4.7 package embeds its own SQLite DDL (Quartz.Impl.AdoJobStore.Schema.create_sqlite.sql) and
                // runs it on start with this; a hand-written classic QRTZ_ script lacks the 4.x columns.
                store.ProvisionSchema();
            });
        });
        var provider = services.BuildServiceProvider();
        var scheduler = await provider.GetRequiredService<ISchedulerFactory>().GetScheduler();
        return new QuartzPeer(provider, scheduler, path);
    }

    /// <summary>What a fresh connection to the file reports, as Quartz's own connections would see it (printed with the row).</summary>
    public string DescribeStorage()
    {
        using var connection = new SqliteConnection($"Data Source={Path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        var journal = command.ExecuteScalar();
        command.CommandText = "PRAGMA synchronous;";
        var synchronous = command.ExecuteScalar();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'QRTZ_%';";
        var tables = command.ExecuteScalar();
        return $"journal_mode={journal}, synchronous={synchronous} (2 = FULL), {tables} QRTZ_ tables";
    }

    /// <summary>Schedules <paramref name="count"/> one-shot jobs (job detail + fire-now trigger), 1,000 per call.</summary>
    public async Task ScheduleAsync(int first, int count)
    {
        for (var start = first; start < first + count; start += 1000)
        {
            var batch = new Dictionary<IJobDetail, IReadOnlyCollection<ITrigger>>();
            for (var i = start; i < Math.Min(first + count, start + 1000); i++)
            {
                batch[Job(i)] = [Trigger(i)];
            }

            await Scheduler.ScheduleJobs(batch);
        }
    }

    /// <summary>Schedules one job (one call, one transaction).</summary>
    public async Task ScheduleOneAsync(int n) => await Scheduler.ScheduleJob(Job(n), Trigger(n));

    private static IJobDetail Job(int n) =>
        JobBuilder.Create<QuartzNoopJob>().WithIdentity($"noop-{n}").UsingJobData("n", n).Build();

    private static ITrigger Trigger(int n) =>
        TriggerBuilder.Create().WithIdentity($"noop-{n}").ForJob($"noop-{n}").StartNow().Build();

    public async ValueTask DisposeAsync()
    {
        await Scheduler.Shutdown(waitForJobsToComplete: true);
        await _services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Harness.Delete(Path);
    }
}

/// <summary>The no-op Quartz job; counts completions and timestamps the start for the latency run.</summary>
public sealed class QuartzNoopJob : IJob
{
    private static int _remaining;

    public static TaskCompletionSource All { get; private set; } = new();

    public static int Remaining => Volatile.Read(ref _remaining);

    public static TaskCompletionSource<long> Started { get; set; } = new();

    public static void Reset(int jobs)
    {
        _remaining = jobs;
        All = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        Started.TrySetResult(Stopwatch.GetTimestamp());
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            All.TrySetResult();
        }

        return ValueTask.CompletedTask;
    }
}
