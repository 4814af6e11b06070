using System.Collections.Concurrent;

namespace Ladder.Sample.Hosting;

/// <summary>One parse job running on this host right now (its heartbeat reports them to the cluster).</summary>
internal sealed record LocalRun(long JobId, long MatchId, DateTimeOffset StartedAt);

/// <summary>The parse jobs this host is running: the handler adds one at its start and removes it in its finally.</summary>
internal sealed class LocalRuns(TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<long, LocalRun> _runs = new();

    public IDisposable Start(long jobId, long matchId)
    {
        _runs[jobId] = new LocalRun(jobId, matchId, timeProvider.GetUtcNow());
        return new Finish(this, jobId);
    }

    public IReadOnlyList<LocalRun> Snapshot() => [.. _runs.Values.OrderBy(static r => r.JobId)];

    private sealed class Finish(LocalRuns owner, long jobId) : IDisposable
    {
        public void Dispose() => owner._runs.TryRemove(jobId, out _);
    }
}
