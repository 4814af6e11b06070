using System.Reflection;

namespace Ladder.Workers.Benchmarks;

internal static class Paths
{
    public static readonly string TestWorker = Path.GetFullPath(
        typeof(Paths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TestWorkerPath").Value!);

    public static WorkerPoolOptions Options(int workers, bool spare = true)
    {
        var options = new WorkerPoolOptions
        {
            WorkerPath = TestWorker,
            WorkerCount = workers,
            WarmSpare = spare,
            QueueCapacity = 10_000,
            CancelGrace = TimeSpan.FromMilliseconds(100),
        };
        options.Arguments.Add(WorkerHost.WorkerSwitch);
        return options;
    }
}
