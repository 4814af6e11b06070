using Ladder.Jobs.Limits;

namespace Ladder.Jobs.Tests.Storage;

/// <summary>The multi-process limits test on one SQLite file.</summary>
public sealed class SqliteMultiProcessLimits : MultiProcessLimits
{
    private string Path => System.IO.Path.Combine(Folder, "jobs.db");

    protected override IReadOnlyList<string> StoreArguments => ["--sqlite", Path];

    protected override Task<JobQueue> OpenQueueAsync() => Task.FromResult(JobQueue.Open(new LadderJobsOptions { Path = Path }));
}
