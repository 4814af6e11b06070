using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs;

/// <summary>Inspection and administration: counts, pages, details, cancel, retry, purge.</summary>
public sealed partial class PostgresJobStore
{
    /// <inheritdoc />
    public override async Task<string?> CancelAsync(long id, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();

        // Not retried: a cancel that committed would report "no such job" the second time. A running job's handler
        // elsewhere learns of it at its next heartbeat.
        return await OnceAsync("cancel a job", async () =>
        {
            await using var command = Command(_sql.Cancel);
            command.Parameters.Add(P("id", id, NpgsqlDbType.Bigint));
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<string?> RetryAsync(long id, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var queue = await OnceAsync("retry a job", async () =>
        {
            await using var command = Command(_sql.RetryFinished);
            command.Parameters.Add(P("id", id, NpgsqlDbType.Bigint));
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }).ConfigureAwait(false);
        if (queue is not null)
        {
            NotifySoon(queue);
        }

        return queue;
    }

    /// <inheritdoc />
    public override async Task<int> PurgeBatchAsync(JobState state, TimeSpan olderThan, int limit, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return await OnceAsync("purge jobs", async () =>
        {
            await using var command = Command(_sql.Purge);
            command.Parameters.Add(P("state", (short)state, NpgsqlDbType.Smallint));
            command.Parameters.Add(P("age", olderThan, NpgsqlDbType.Interval));
            command.Parameters.Add(P("limit", limit, NpgsqlDbType.Integer));
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<IReadOnlyList<QueueStateCount>> GetCountsAsync(string? queue, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return await OnceAsync("count jobs", async () =>
        {
            await using var command = _dataSource.CreateCommand(_sql.Counts);
            command.Parameters.Add(P("queue", queue, NpgsqlDbType.Text));
            var counts = new List<QueueStateCount>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                counts.Add(new QueueStateCount(reader.GetString(0), (JobState)reader.GetInt16(1), reader.GetInt64(2)));
            }

            return counts;
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>An index-only scan of <c>jobs_state</c> (state, id), when the visibility map is set (autovacuum does that).</remarks>
    public override async Task<IReadOnlyDictionary<JobState, long>> GetTotalsAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return await OnceAsync("count jobs", async () =>
        {
            var totals = Enum.GetValues<JobState>().ToDictionary(static s => s, static _ => 0L);
            await using var command = _dataSource.CreateCommand(_sql.StateTotals);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                totals[(JobState)reader.GetInt16(0)] = reader.GetInt64(1);
            }

            return (IReadOnlyDictionary<JobState, long>)totals;
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<JobPage> GetJobsAsync(JobQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ThrowIfDisposed();
        return await OnceAsync("list jobs", async () =>
        {
            await using var command = _dataSource.CreateCommand(_sql.Page);
            command.Parameters.Add(P("state", (short)query.State, NpgsqlDbType.Smallint));
            command.Parameters.Add(P("after", query.AfterId ?? 0, NpgsqlDbType.Bigint));
            command.Parameters.Add(P("queue", query.Queue, NpgsqlDbType.Text));
            command.Parameters.Add(P("kind", query.Kind, NpgsqlDbType.Text));
            command.Parameters.Add(P("unique_key", query.UniqueKey, NpgsqlDbType.Text));
            command.Parameters.Add(P("limit", query.PageSize + 1, NpgsqlDbType.Integer));
            var jobs = new List<JobSummary>(query.PageSize);
            var more = false;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (jobs.Count == query.PageSize)
                {
                    more = true;
                    break;
                }

                jobs.Add(ReadSummary(reader));
            }

            return new JobPage(jobs, more ? jobs[^1].Id : null);
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task<JobDetails?> GetJobAsync(long id, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return await OnceAsync("read a job", async () =>
        {
            // One batch, one implicit transaction: the job and its attempts from one snapshot.
            await using var batch = _dataSource.CreateBatch();
            var job = new NpgsqlBatchCommand(_sql.Job);
            job.Parameters.Add(P("id", id, NpgsqlDbType.Bigint));
            var attempts = new NpgsqlBatchCommand(_sql.Attempts);
            attempts.Parameters.Add(P("id", id, NpgsqlDbType.Bigint));
            batch.BatchCommands.Add(job);
            batch.BatchCommands.Add(attempts);
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var summary = ReadSummary(reader);
            var payload = reader.GetString(14);
            TimeSpan? timeout = reader.IsDBNull(15) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(15));
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            var list = new List<JobAttempt>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                list.Add(new JobAttempt(
                    reader.GetInt32(0), reader.GetString(1), NullableTime(reader, 2), reader.GetFieldValue<DateTimeOffset>(3),
                    NullableString(reader, 4), NullableString(reader, 5), NullableString(reader, 6)));
            }

            return new JobDetails(summary, payload, timeout, list);
        }).ConfigureAwait(false);
    }

    private static JobSummary ReadSummary(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), (JobState)r.GetInt16(3), r.GetInt32(4), r.GetInt32(5), r.GetInt32(6), r.GetInt32(7),
        NullableString(r, 8), r.GetFieldValue<DateTimeOffset>(9), r.GetFieldValue<DateTimeOffset>(10), NullableTime(r, 11), NullableTime(r, 12),
        NullableString(r, 13));

    private static string? NullableString(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset? NullableTime(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetFieldValue<DateTimeOffset>(i);
}
