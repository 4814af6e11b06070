using Ladder.Jobs.Diagnostics;
using Ladder.Jobs.Storage;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs;

/// <summary>Inspection and administration: counts, pages, details, cancel, retry, purge, retention, checkpoint.</summary>
public sealed partial class JobQueue
{
    private const string SummaryColumns =
        "id, queue, kind, state, priority, attempts, max_attempts, rescues, unique_key, created_at, run_at, started_at, finished_at, last_error";

    // Completed (and replaced) after each commit that finished jobs, while someone waits in WaitForFinishAsync.
    private TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _finishWaiters;

    /// <summary>Counts jobs by queue and state (reads its own connection; never waits for the writer).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One entry per non-empty (queue, state).</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public async Task<IReadOnlyList<QueueStateCount>> GetCountsAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT queue, state, count(*) FROM ladder_jobs GROUP BY queue, state ORDER BY queue, state;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var counts = new List<QueueStateCount>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            counts.Add(new QueueStateCount(reader.GetString(0), (JobState)reader.GetInt32(1), reader.GetInt64(2)));
        }

        return counts;
    }

    /// <summary>Totals by state, over every queue or one (reads its own connection; never waits for the writer).</summary>
    /// <param name="queue">Only this queue, or all.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>Every state, with 0 for a state no job is in.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public async Task<IReadOnlyDictionary<JobState, long>> GetTotalsAsync(string? queue = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var totals = Enum.GetValues<JobState>().ToDictionary(static s => s, static _ => 0L);
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT state, count(*) FROM ladder_jobs WHERE ($queue IS NULL OR queue = $queue) GROUP BY state;";
        command.Parameters.AddWithValue("$queue", (object?)queue ?? DBNull.Value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            totals[(JobState)reader.GetInt32(0)] = reader.GetInt64(1);
        }

        return totals;
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
    public async Task<JobPage> GetJobsAsync(JobState state, string? queue = null, long? afterId = null, int pageSize = 50, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, 1000);
        ThrowIfDisposed();
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SummaryColumns} FROM ladder_jobs WHERE state = $state AND id > $after AND ($queue IS NULL OR queue = $queue) ORDER BY id LIMIT $limit;";
        command.Parameters.AddWithValue("$state", (int)state);
        command.Parameters.AddWithValue("$after", afterId ?? 0);
        command.Parameters.AddWithValue("$queue", (object?)queue ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", pageSize + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var jobs = new List<JobSummary>(pageSize);
        var more = false;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (jobs.Count == pageSize)
            {
                more = true;
                break;
            }

            jobs.Add(ReadSummary(reader));
        }

        return new JobPage(jobs, more ? jobs[^1].Id : null);
    }

    /// <summary>A job with its payload and recorded attempts.</summary>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The job, or <see langword="null"/> if there is none with that id.</returns>
    public async Task<JobDetails?> GetJobAsync(long id, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SummaryColumns}, payload, timeout_ms FROM ladder_jobs WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        JobSummary summary;
        string payload;
        long? timeoutMs;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            summary = ReadSummary(reader);
            payload = reader.GetString(14);
            timeoutMs = Sql.NullableInt64(reader, 15);
        }

        command.CommandText = "SELECT attempt, outcome, started_at, finished_at, error_type, error_message, error_stack FROM ladder_job_attempts WHERE job_id = $id ORDER BY id;";
        var attempts = new List<JobAttempt>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                attempts.Add(new JobAttempt(
                    reader.GetInt32(0), reader.GetString(1), At(Sql.NullableInt64(reader, 2)), FromMs(reader.GetInt64(3)),
                    Sql.NullableString(reader, 4), Sql.NullableString(reader, 5), Sql.NullableString(reader, 6)));
            }
        }

        return new JobDetails(summary, payload, timeoutMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null, attempts);
    }

    /// <summary>Cancels a job that is scheduled, ready, failed (awaiting retry) or running. A running handler's token is cancelled (at once in this process, at its next heartbeat elsewhere) and its outcome discarded.</summary>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Stops waiting; the cancel may still commit.</param>
    /// <returns><see langword="true"/> if the job was cancelled; <see langword="false"/> if it does not exist or already finished.</returns>
    public async Task<bool> CancelAsync(long id, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var cancelled = await _writer.Run(
            session => session.Command(Sql.Cancel, id, Now()).ExecuteScalar() is string,
            durable: true,
            done =>
            {
                if (done)
                {
                    JobCancelled?.Invoke(id);
                    SignalFinished();
                }
            }).WaitAsync(cancellationToken).ConfigureAwait(false);
        return cancelled;
    }

    /// <summary>Runs a dead, cancelled or failed job again now, with its attempts and rescues reset.</summary>
    /// <param name="id">The job id.</param>
    /// <param name="cancellationToken">Stops waiting; the retry may still commit.</param>
    /// <returns><see langword="true"/> if the job is ready again; <see langword="false"/> if it does not exist or is not dead, cancelled or failed,
    /// or was cancelled while running and its old lease has not expired yet (its handler may still be running somewhere).</returns>
    public async Task<bool> RetryAsync(long id, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var queue = await _writer.Run(session => session.Command(Sql.RetryDead, id, Now()).ExecuteScalar() as string, durable: true, q =>
        {
            if (q is not null)
            {
                NotifyAvailable(q);
            }
        }).WaitAsync(cancellationToken).ConfigureAwait(false);
        return queue is not null;
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
        const int BatchSize = 1000;
        var total = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var deleted = await _writer.Run(
                session =>
                {
                    var cutoff = Now() - (long)olderThan.TotalMilliseconds;
                    session.Execute(Sql.PurgeAttemptsBatch, (int)state, cutoff + (olderThan == TimeSpan.Zero ? 1 : 0), BatchSize);
                    return session.Execute(Sql.PurgeBatch, (int)state, cutoff + (olderThan == TimeSpan.Zero ? 1 : 0), BatchSize);
                },
                durable: true).ConfigureAwait(false);
            total += deleted;
            if (deleted < BatchSize)
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

    /// <summary>Checkpoints the write-ahead log into the database and truncates it, so the WAL file stays bounded.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns><see langword="true"/> if the whole WAL was checkpointed (no reader held it back).</returns>
    public async Task<bool> CheckpointAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        // Run on a reader connection, outside the writer's transactions; TRUNCATE waits on busy_timeout for writers.
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && reader.GetInt32(0) == 0;
    }

    private static JobSummary ReadSummary(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), (JobState)r.GetInt32(3), r.GetInt32(4), r.GetInt32(5), r.GetInt32(6), r.GetInt32(7),
        Sql.NullableString(r, 8), FromMs(r.GetInt64(9)), FromMs(r.GetInt64(10)), At(Sql.NullableInt64(r, 11)), At(Sql.NullableInt64(r, 12)),
        Sql.NullableString(r, 13));

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static DateTimeOffset? At(long? ms) => ms is { } v ? FromMs(v) : null;
}
