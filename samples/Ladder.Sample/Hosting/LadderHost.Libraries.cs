using Ladder.Caching;
using Ladder.Workers;

namespace Ladder.Sample.Hosting;

internal static partial class LadderHost
{
    private static void AddLibraries(IServiceCollection services, LadderOptions options, string databasePath)
    {
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
        services.AddSingleton<ReplayParsing>();

        // Ladder.Caching: the views and their dependency map.
        services.AddLadderCaching(LadderViews.Define);
        services.AddSingleton<LeaderboardLoadObserver>();
        services.AddSingleton<LadderViews>();
        services.AddSingleton<ReplayJobHandler>();
        services.AddSingleton<ReplayIntake>();
        services.AddHostedService<DemoData>();
    }
}
