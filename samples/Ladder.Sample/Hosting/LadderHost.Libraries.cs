using Ladder.Caching;
using Ladder.Jobs;
using Ladder.Workers;

namespace Ladder.Sample.Hosting;

internal static partial class LadderHost
{
    private static void AddLibraries(IServiceCollection services, LadderOptions options, string? databasePath, string? postgres)
    {
        // Ladder.Jobs: the queue lives in the ladder's own database (its SQLite file, or the cluster's PostgreSQL
        // database), so an upload and its parse job commit together.
        void Queue(LadderJobsOptions jobs)
        {
            if (postgres is null)
            {
                jobs.Path = databasePath!;
                jobs.ShareExistingDatabase = true;
            }
            else
            {
                jobs.UsePostgres(postgres);
            }

            jobs.Queues.Clear();
            jobs.Queues[ReplayIntake.Queue] = options.JobConcurrency;
            jobs.DefaultMaxAttempts = options.ParseMaxAttempts;
            jobs.RetryBaseDelay = options.ParseRetryDelay;
            jobs.RetryMaxDelay = TimeSpan.FromMinutes(5);
            // Parses take tens to hundreds of milliseconds, so claiming ahead buys no throughput, and jobs claimed ahead
            // by one host are jobs another host on the same file cannot start.
            jobs.Prefetch = 0;
            jobs.LeaseDuration = options.JobLease;
            jobs.HeartbeatInterval = options.JobLease / 3;
            jobs.RescueInterval = options.JobLease / 2;
            jobs.ShutdownGrace = TimeSpan.FromSeconds(20);
        }

        if (options.ProcessJobs)
        {
            services.AddLadderJobs(Queue).AddHandler<ParseReplayJob, ReplayJobHandler>();
        }
        else
        {
            // Enqueue-only (the crash tests' "before the crash" host): the queue without a processor.
            services.AddSingleton(sp =>
            {
                var jobs = new LadderJobsOptions();
                Queue(jobs);
                return JobQueue.Open(jobs, sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>());
            });
        }

        // Ladder.Workers: parser workers are this same executable started with the worker switch.
        services.AddLadderWorkers(pool =>
        {
            pool.UseCurrentExecutable();
            pool.WorkerCount = options.WorkerCount;
            pool.DefaultDeadline = options.ParseDeadline;
            pool.TimeoutBehavior = WorkerTimeoutBehavior.ReturnResult;
            pool.HeapHardLimitBytes = options.WorkerMemoryLimitMb * 1024L * 1024L;
            pool.RecycleAfterCalls = 1000;
        });
        services.AddSingleton<PoolIncidents>();
        services.AddSingleton<ReplayParsing>();

        // Ladder.Caching: the views and their dependency map.
        services.AddLadderCaching(LadderViews.Define);
        if (postgres is not null)
        {
            // A write on one host invalidates the views of every host: a change log and NOTIFY in the same database.
            services.UsePostgresBackplane(static sp => sp.GetRequiredService<Npgsql.NpgsqlDataSource>(), null);
        }

        services.AddSingleton<LeaderboardLoadObserver>();
        services.AddSingleton<LadderViews>();

        services.AddSingleton<ReplayStatusObserver>();
        services.AddSingleton<ReplayIntake>();
        services.AddSingleton<JobLines>();
        services.AddSingleton<PlayerPages>();
        services.AddSingleton<HostStart>();
        services.AddSingleton<LocalRuns>();
        services.AddSingleton<ClusterHeartbeat>();
        services.AddHostedService(static sp => sp.GetRequiredService<ClusterHeartbeat>());
        services.AddHostedService<DemoData>();
    }
}
