using Ladder.Jobs;
using Ladder.Sample.Api;
using Ladder.Sample.Domain;

namespace Ladder.Sample.Hosting;

/// <summary>
/// The queue as the page shows it: jobs with readable labels (which match, which players) instead of a replay hash,
/// running and retrying jobs with their attempt and next run, and dead jobs a page at a time.
/// </summary>
internal sealed class JobLines(JobQueue queue, LadderDatabase db)
{
    public const int ActiveLimit = 50;
    public const int MaxDeadPageSize = 200;

    public async Task<ActiveJobs> GetActiveAsync(CancellationToken ct)
    {
        var counts = await queue.GetCountsAsync(ct);
        var running = await queue.GetJobsAsync(JobState.Running, pageSize: ActiveLimit, cancellationToken: ct);
        var retrying = await queue.GetJobsAsync(JobState.Failed, pageSize: ActiveLimit, cancellationToken: ct);
        var lines = await DescribeAsync([.. running.Jobs, .. retrying.Jobs], ct);
        return new ActiveJobs(
            Count(counts, JobState.Running), lines[..running.Jobs.Count],
            Count(counts, JobState.Failed), lines[running.Jobs.Count..], ActiveLimit);
    }

    public async Task<DeadJobPage> GetDeadAsync(long? after, int pageSize, CancellationToken ct)
    {
        var total = Count(await queue.GetCountsAsync(ct), JobState.Dead);
        var page = await queue.GetJobsAsync(JobState.Dead, afterId: after, pageSize: pageSize, cancellationToken: ct);
        return new DeadJobPage(total, await DescribeAsync(page.Jobs, ct), page.NextAfterId, pageSize);
    }

    /// <summary>The parse job of one replay, or null when the replay has none (or it was purged).</summary>
    public async Task<ReplayJob?> GetReplayJobAsync(string? hash, long? jobId, CancellationToken ct)
    {
        if (hash is null)
        {
            return null;
        }

        var job = jobId is { } id ? await queue.GetJobAsync(id, ct) : null;
        return job is null
            ? new ReplayJob(hash, jobId, "purged", 0, 0, null, null)
            : new ReplayJob(hash, jobId, ReplayIntake.StateName(job.Summary.State), job.Summary.Attempts, job.Summary.MaxAttempts,
                job.Summary.RunAt, ReplayIntake.Reason(job.Summary.LastError));
    }

    private static long Count(IReadOnlyList<QueueStateCount> counts, JobState state)
        => counts.Where(c => c.State == state).Sum(static c => c.Count);

    private async Task<JobLine[]> DescribeAsync(IReadOnlyList<JobSummary> jobs, CancellationToken ct)
    {
        var hashes = jobs.Select(static j => j.UniqueKey).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var replays = await db.DescribeReplaysAsync(hashes, ct);
        return [.. jobs.Select(j =>
        {
            var match = j.UniqueKey is { } key ? replays.GetValueOrDefault(key) : null;
            var label = match is null
                ? $"{j.Kind} job {j.Id}"
                : $"match {match.Id}: {match.Player1Name} ({match.Race1}) vs {match.Player2Name} ({match.Race2})";
            return new JobLine(j.Id, j.Kind, ReplayIntake.StateName(j.State), label, match?.Id, j.UniqueKey, j.Attempts, j.MaxAttempts,
                j.StartedAt, j.RunAt, j.FinishedAt, ReplayIntake.Reason(j.LastError));
        })];
    }
}
