using Ladder.Jobs.Diagnostics;

namespace Ladder.Jobs;

/// <summary>Inspection and administration: counts, pages, details, cancel, retry, purge, retention, the store's upkeep.</summary>
public sealed partial class JobQueue
{
    private const int PurgeBatchSize = 1000;

    // Completed (and replaced) after each commit that finished jobs, while someone waits in WaitForFinishAsync.
    private TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _finishWaiters;

    /// <summary>Counts jobs by queue and state (in the SQLite store, on a connection of its own: never waits for the writer).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One entry per non-empty (queue, state).</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public Task<IReadOnlyList<QueueStateCount>> GetCountsAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _store.GetCountsAsync(null, cancellationToken);
    }

    /// <summary>Totals by state, over every queue or one (in the SQLite store, on a connection of its own: never waits for the writer).</summary>
    /// <param name="queue">Only this queue, or all.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>Every state, with 0 for a state no job is in.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public async Task<IReadOnlyDictionary<JobState, long>> GetTotalsAsync(string? queue = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return queue is null
            ? await _store.GetTotalsAsync(cancellationToken).ConfigureAwait(false)
            : JobTotals.Sum(await _store.GetCountsAsync(queue, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Waits until a job is finished (succeeded, dead or cancelled) and returns it. Woken as soon as this process
    /// commits an outcome; a job finished by another process on the same file is seen within <see cref="LadderJobsOptions.PollInterval"/>.
    /// </summary>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The finished job, or <see langword="null"/> if there is no job with that id (never enqueued, or deleted by retention).</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The queue was disposed (also while waiting: the dispose ends the wait).</exception>
    public async Task<JobDetails?> WaitForFinishAsync(long id, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _finishWaiters);
        try
        {
            while (true)
            {
                // Taken before the read: an outcome committed during the read completes this signal, never a later one.
                var finished = Volatile.Read(ref _finished).Task;
                var job = await GetJobAsync(id, cancellationToken).ConfigureAwait(false);
                if (job is null || job.Summary.State is JobState.Succeeded or JobState.Dead or JobState.Cancelled)
                {
                    return job;
                }

                try
                {
                    await finished.WaitAsync(Settings.PollInterval, Time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // The backstop poll: another process may have finished it.
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _finishWaiters);
        }
    }

    // After a commit that finished jobs: wakes every WaitForFinishAsync. Free while nobody waits (the hot path).
    internal void SignalFinished()
    {
        if (Volatile.Read(ref _finishWaiters) > 0)
        {
            Interlocked.Exchange(ref _finished, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    /// <summary>Pages through jobs in a state, by ascending id (keyset paging: stable while jobs move).</summary>
    /// <param name="state">The state.</param>
    /// <param name="queue">Only this queue, or all.</param>
    /// <param name="afterId">Start after this id (from the previous page's <see cref="JobPage.NextAfterId"/>).</param>
    /// <param name="pageSize">Jobs per page, 1..1000. Default: 50.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The page.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pageSize"/> is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ by their first parameter (a state, or a query), so no call binds ambiguously.")]
    public Task<JobPage> GetJobsAsync(JobState state, string? queue = null, long? afterId = null, int pageSize = 50, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, 1000);
        return GetJobsAsync(new JobQuery(state, queue, AfterId: afterId, PageSize: pageSize), cancellationToken);
    }

    /// <summary>Pages through the jobs a query selects: one state, optionally one queue, one kind and a unique-key prefix, by ascending id.</summary>
    /// <param name="query">The state, the filters and the page.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The page; pass its <see cref="JobPage.NextAfterId"/> as the next query's <see cref="JobQuery.AfterId"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="JobQuery.PageSize"/> is not 1..1000.</exception>
    /// <exception cref="ArgumentException">A filter is empty (<see langword="null"/> means no filter).</exception>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ by their first parameter (a state, or a query), so no call binds ambiguously.")]
    public Task<JobPage> GetJobsAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.PageSize is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.PageSize, $"PageSize must be 1..1000 (was {query.PageSize}).");
        }

        if (query.Queue is "" || query.Kind is "" || query.UniqueKey is "")
        {
            throw new ArgumentException("A filter of the query is empty: null means no filter (Queue, Kind, UniqueKey).", nameof(query));
        }

        ThrowIfDisposed();
        return _store.GetJobsAsync(query, cancellationToken);
    }

    /// <summary>A job with its payload and recorded attempts.</summary>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The job, or <see langword="null"/> if there is none with that id.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public Task<JobDetails?> GetJobAsync(long id, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _store.GetJobAsync(id, cancellationToken);
    }

    /// <summary>Cancels a job that is scheduled, ready, failed (awaiting retry) or running. A running handler's token is cancelled (at once in this process, at its next heartbeat elsewhere) and its outcome discarded.</summary>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Stops waiting; the cancel may still commit.</param>
    /// <returns><see langword="true"/> if the job was cancelled; <see langword="false"/> if it does not exist or already finished.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public async Task<bool> CancelAsync(long id, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        // The store is not given the caller's token: a cancel that commits cancels the running handler, waited for or not.
        var cancelled = ThenAsync(_store.CancelAsync(id, CancellationToken.None), queue =>
        {
            if (queue is not null)
            {
                NotifyCancelled(id);
                SignalFinished();
            }
        });
        return await cancelled.WaitAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>Runs a dead, cancelled or failed job again now, with its attempts and rescues reset.</summary>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Stops waiting; the retry may still commit.</param>
    /// <returns><see langword="true"/> if the job is ready again; <see langword="false"/> if it does not exist or is not dead, cancelled or failed,
    /// or was cancelled while running and its old lease has not expired yet (its handler may still be running somewhere).</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public async Task<bool> RetryAsync(long id, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var retried = ThenAsync(_store.RetryAsync(id, CancellationToken.None), queue =>
        {
            if (queue is not null)
            {
                NotifyAvailable(queue);
            }
        });
        return await retried.WaitAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>Deletes finished jobs (succeeded, dead or cancelled) that finished before now − <paramref name="olderThan"/>, in batches.</summary>
    /// <param name="state">A terminal state: succeeded, dead or cancelled.</param>
    /// <param name="olderThan">Age of the oldest job kept; <see cref="TimeSpan.Zero"/> purges them all.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>How many jobs were deleted.</returns>
    /// <exception cref="ArgumentException"><paramref name="state"/> is not terminal.</exception>
    public async Task<int> PurgeAsync(JobState state, TimeSpan olderThan, CancellationToken cancellationToken = default)
    {
        if (state is not (JobState.Succeeded or JobState.Dead or JobState.Cancelled))
        {
            throw new ArgumentException($"Only finished jobs can be purged (succeeded, dead, cancelled), not {state}.", nameof(state));
        }

        ThrowIfDisposed();
        var total = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Small batches, one short transaction each, so claims and completions never wait long.
            var deleted = await _store.PurgeBatchAsync(state, olderThan, PurgeBatchSize, cancellationToken).ConfigureAwait(false);
            total += deleted;
            if (deleted < PurgeBatchSize)
            {
                return total;
            }
        }
    }

    /// <summary>Applies the retention options: deletes succeeded, dead and cancelled jobs older than their TTL.</summary>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>How many jobs were deleted.</returns>
    public async Task<int> ApplyRetentionAsync(CancellationToken cancellationToken = default)
    {
        var deleted = await PurgeAsync(JobState.Succeeded, Settings.SucceededRetention, cancellationToken).ConfigureAwait(false)
            + await PurgeAsync(JobState.Dead, Settings.DeadRetention, cancellationToken).ConfigureAwait(false)
            + await PurgeAsync(JobState.Cancelled, Settings.CancelledRetention, cancellationToken).ConfigureAwait(false);
        if (deleted > 0)
        {
            Log.RetentionDeleted(Logger, deleted);
        }

        return deleted;
    }

    /// <summary>
    /// The store's periodic upkeep, which the processor runs after retention: the SQLite store checkpoints its
    /// write-ahead log into the database and truncates it, so the WAL file stays bounded.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>For the SQLite store, <see langword="true"/> if the whole WAL was checkpointed (no reader held it back); for another store, whether its upkeep did something.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public Task<bool> CheckpointAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _store.MaintainAsync(cancellationToken);
    }
}
