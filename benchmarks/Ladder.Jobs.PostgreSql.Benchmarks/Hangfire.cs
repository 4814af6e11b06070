using System.Diagnostics;
using Hangfire;
using Hangfire.PostgreSql;
using Ladder.PostgreSql.Testing;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>
/// (b) Hangfire 1.8 + Hangfire.PostgreSql 1.21 with 4 workers on the same server, in its own database: N no-op
/// jobs enqueued one by one through its client, then processed. Its defaults, except a 100 ms queue poll (it only
/// helps the peer: with a full queue the workers do not wait anyway). A ceiling: the rate is over what finished.
/// </summary>
internal static class HangfirePeer
{
    public sealed record Result(int Jobs, int Done, bool Finished, TimeSpan Ceiling, double EnqueueRate, double ProcessRate);

    public static async Task<Result> RunAsync(PostgresServer server, int jobs, TimeSpan ceiling)
    {
        var connectionString = await server.CreateDatabaseAsync("hangfire");
        var options = new PostgreSqlStorageOptions { QueuePollInterval = TimeSpan.FromMilliseconds(100), PrepareSchemaIfNecessary = true };
        GlobalConfiguration.Configuration.UsePostgreSqlStorage(o => o.UseNpgsqlConnection(connectionString), options);
        var storage = JobStorage.Current;
        HangfireNoop.Reset(jobs);
        var client = new BackgroundJobClient(storage);
        var enqueue = Stopwatch.GetTimestamp();
        for (var i = 0; i < jobs; i++)
        {
            client.Enqueue(() => HangfireNoop.Run());
        }

        var enqueueElapsed = Stopwatch.GetElapsedTime(enqueue);
        var process = Stopwatch.GetTimestamp();
        using var jobServer = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = 4 }, storage);
        var finished = await Task.WhenAny(HangfireNoop.All.Task, Task.Delay(ceiling)) == HangfireNoop.All.Task;
        var elapsed = Stopwatch.GetElapsedTime(process);
        var done = jobs - HangfireNoop.Remaining;
        return new Result(jobs, done, finished, ceiling, Bench.Rate(jobs, enqueueElapsed), Bench.Rate(done, elapsed));
    }
}

/// <summary>The peer's no-op job: counts down, and signals when all ran.</summary>
public static class HangfireNoop
{
    private static int _remaining;

    public static TaskCompletionSource All { get; private set; } = new();

    public static int Remaining => Volatile.Read(ref _remaining);

    public static void Reset(int jobs)
    {
        _remaining = jobs;
        All = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public static void Run()
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            All.TrySetResult();
        }
    }
}
