namespace Ladder.Jobs;

/// <summary>Runs jobs of the kind of <typeparamref name="TArgs"/>. Resolved from a service scope per job.</summary>
/// <typeparam name="TArgs">The argument type; its kind is its <see cref="JobKindAttribute"/> or full name.</typeparam>
public interface IJobHandler<in TArgs>
{
    /// <summary>
    /// Runs one attempt. Return normally to succeed; throw to fail the attempt (retried with backoff until the
    /// job's attempts run out); throw <see cref="JobPermanentFailureException"/> to make it dead at once; call
    /// <see cref="JobContext.Snooze"/> and return to run it later. The job runs at least once: make it idempotent.
    /// </summary>
    /// <param name="args">The job's arguments.</param>
    /// <param name="context">The job.</param>
    /// <param name="cancellationToken">Cancelled on the job's timeout, its cancellation, a lost lease, or shutdown after the grace period.</param>
    /// <returns>A task that completes when the attempt is done.</returns>
    Task HandleAsync(TArgs args, JobContext context, CancellationToken cancellationToken);
}
