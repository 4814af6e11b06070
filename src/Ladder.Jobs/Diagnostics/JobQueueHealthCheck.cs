using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ladder.Jobs;

/// <summary>
/// A health check for the job queue: unhealthy when its store stopped taking writes (<see cref="Storage.JobStore.IsAvailable"/>:
/// for SQLite, its writer ended) or cannot be read; the data lists
/// the number of jobs in each state (0 included). Register it with <c>services.AddHealthChecks().AddCheck&lt;JobQueueHealthCheck&gt;("jobs")</c>.
/// </summary>
public sealed class JobQueueHealthCheck : IHealthCheck
{
    private readonly JobQueue _queue;

    /// <summary>Creates the check.</summary>
    /// <param name="queue">The queue to check.</param>
    public JobQueueHealthCheck(JobQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        _queue = queue;
    }

    /// <inheritdoc/>
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!_queue.IsStoreAvailable)
        {
            return HealthCheckResult.Unhealthy($"The job queue's store is not available (disposed or failed): {_queue.Store.Location}");
        }

        try
        {
            // Totals by state only (JobStore.GetTotalsAsync): a probe every few seconds must not sort every retained job.
            var totals = await _queue.GetTotalsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var data = totals.ToDictionary(static t => t.Key.ToString(), static t => (object)t.Value);
            return HealthCheckResult.Healthy("The job queue is open.", data);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"The job queue's store cannot be read: {_queue.Store.Location}", e);
        }
    }
}
