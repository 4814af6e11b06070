using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>Inspection and administration: reads on their own connections (never waiting for the writer); cancel, retry and purge through it.</summary>
internal sealed partial class SqliteJobStore
{
    private const string SummaryColumns =
        "id, queue, kind, state, priority, attempts, max_attempts, rescues, unique_key, created_at, run_at, started_at, finished_at, last_error";

    // The largest code point: every text that starts with a prefix p sorts (by SQLite's default BINARY collation,
    // which compares UTF-8 bytes, i.e. code points) at or after p and before p || U+10FFFF, so the prefix filter is a
    // range on ladder_jobs_unique's second column, not a LIKE with its escapes and its case folding.
    private const string PrefixEnd = "\U0010FFFF";

    // A page of jobs in one state (the dashboard's list). It names its index: after an ANALYZE of a file with one state
    // in every row, SQLite walked the table in id order from $after instead (QueryPlanTests), so a page of the few dead
    // jobs among a million finished ones read the whole table.
    internal const string JobsPage =
        $"SELECT {SummaryColumns} FROM ladder_jobs INDEXED BY ladder_jobs_state WHERE state = $state AND id > $after AND ($queue IS NULL OR queue = $queue) " +
        "AND ($kind IS NULL OR kind = $kind) AND ($key IS NULL OR (unique_key >= $key AND unique_key < $key || $end)) ORDER BY id LIMIT $limit;";

    public override Task<string?> CancelAsync(long id, CancellationToken cancellationToken) =>
        OpenWriter.Run(session => session.Command(Sql.Cancel, id, Now()).ExecuteScalar() as string, durable: true).WaitAsync(cancellationToken);

    public override Task<string?> RetryAsync(long id, CancellationToken cancellationToken) =>
        OpenWriter.Run(session => session.Command(Sql.RetryDead, id, Now()).ExecuteScalar() as string, durable: true).WaitAsync(cancellationToken);

    /// <remarks>
    /// The batch is found on a reader connection and only deleted on the writer. No index holds <c>finished_at</c>, so
    /// when nothing is old enough the search reads every finished row of the state (about 85 ms at a million rows
    /// here): on the writer it held every enqueue, claim and outcome behind it, at every retention pass. The writer
    /// deletes the candidates still in that state and finished before the cutoff; one a retry took back meanwhile is
    /// kept, and the batch then counts fewer than it found, which ends <see cref="JobQueue.PurgeAsync"/> early: the
    /// rest waits for the next pass.
    /// </remarks>
    public override async Task<int> PurgeBatchAsync(JobState state, TimeSpan olderThan, int limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // A zero age purges every such job, also one finished in this very millisecond.
        var cutoff = Now() - (long)olderThan.TotalMilliseconds + (olderThan == TimeSpan.Zero ? 1 : 0);
        var ids = new List<long>(Math.Min(limit, 1_024));
        await using (var connection = OpenReader())
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = Sql.PurgeCandidates;
            command.Parameters.AddWithValue("$state", (int)state);
            command.Parameters.AddWithValue("$cutoff", cutoff);
            command.Parameters.AddWithValue("$limit", limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ids.Add(reader.GetInt64(0));
            }
        }

        if (ids.Count == 0)
        {
            return 0;
        }

        var json = "[" + string.Join(',', ids.Select(id => id.ToString(CultureInfo.InvariantCulture))) + "]";
        return await OpenWriter.Run(
            session =>
            {
                session.Execute(Sql.PurgeAttemptsBatch, (int)state, cutoff, json);
                return session.Execute(Sql.PurgeBatch, (int)state, cutoff, json);
            },
            durable: true).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task<IReadOnlyList<QueueStateCount>> GetCountsAsync(string? queue, CancellationToken cancellationToken)
    {
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT queue, state, count(*) FROM ladder_jobs WHERE ($queue IS NULL OR queue = $queue) GROUP BY queue, state ORDER BY queue, state;";
        command.Parameters.AddWithValue("$queue", (object?)queue ?? DBNull.Value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var counts = new List<QueueStateCount>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            counts.Add(new QueueStateCount(reader.GetString(0), (JobState)reader.GetInt32(1), reader.GetInt64(2)));
        }

        return counts;
    }

    // The totals by state read only the state index (state, id), in its order: at a million jobs about 0.07 s here,
    // where the grouping by (queue, state) reads every row and sorts it (about 0.95 s). INDEXED BY: whatever an ANALYZE
    // wrote, no statistics make it read the table.
    internal const string StateTotals = "SELECT state, count(*) FROM ladder_jobs INDEXED BY ladder_jobs_state GROUP BY state;";

    public override async Task<IReadOnlyDictionary<JobState, long>> GetTotalsAsync(CancellationToken cancellationToken)
    {
        var totals = JobTotals.Zero();
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = StateTotals;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            totals[(JobState)reader.GetInt32(0)] = reader.GetInt64(1);
        }

        return totals;
    }

    public override async Task<JobPage> GetJobsAsync(JobQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = JobsPage;
        command.Parameters.AddWithValue("$state", (int)query.State);
        command.Parameters.AddWithValue("$after", query.AfterId ?? 0);
        command.Parameters.AddWithValue("$queue", (object?)query.Queue ?? DBNull.Value);
        command.Parameters.AddWithValue("$kind", (object?)query.Kind ?? DBNull.Value);
        command.Parameters.AddWithValue("$key", (object?)query.UniqueKey ?? DBNull.Value);
        command.Parameters.AddWithValue("$end", PrefixEnd);
        command.Parameters.AddWithValue("$limit", query.PageSize + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var jobs = new List<JobSummary>(query.PageSize);
        var more = false;
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
    }

    public override async Task<JobDetails?> GetJobAsync(long id, CancellationToken cancellationToken)
    {
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

        return new JobDetails(summary, payload, Sql.Timeout(timeoutMs), attempts);
    }

    /// <summary>Checkpoints the write-ahead log into the database and truncates it, so the WAL file stays bounded.</summary>
    /// <returns>Whether the whole WAL was checkpointed (no reader held it back).</returns>
    public override async Task<bool> MaintainAsync(CancellationToken cancellationToken)
    {
        await PruneRateStartsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);

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

    private static DateTimeOffset? At(long? ms) => ms is { } v ? FromMs(v) : null;
}
