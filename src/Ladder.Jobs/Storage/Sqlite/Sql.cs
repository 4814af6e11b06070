using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>The statements of the queue. States: 0 scheduled, 1 ready, 2 running, 3 succeeded, 4 failed, 5 dead, 6 cancelled.</summary>
internal static class Sql
{
    public const string Insert =
        "INSERT INTO ladder_jobs(queue, kind, payload, state, priority, run_at, max_attempts, timeout_ms, unique_key, created_at, trace_parent, concurrency_key, concurrency_limit) " +
        "VALUES(@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, @p9, @p10, @p11, @p12) ON CONFLICT DO NOTHING RETURNING id;";

    public const string FindUnique = "SELECT id FROM ladder_jobs WHERE kind = @p0 AND unique_key = @p1;";

    // One statement: select and lease in the same write transaction, so two claimers can never take the same job.
    // @p5: whether the handlers start at once (1) or the jobs wait in the prefetch (0, marked by MarkStarted later).
    // Jobs without a concurrency key only (the index ladder_jobs_fetch holds no other); keyed jobs: LimitSql.
    public const string Claim =
        "UPDATE ladder_jobs SET state = 2, lease_token = @p0, lease_expires_at = @p1, attempts = attempts + 1, started_at = @p2, handler_started = @p5 " +
        "WHERE id IN (SELECT id FROM ladder_jobs WHERE queue = @p3 AND state IN (0, 1, 4) AND concurrency_key IS NULL AND run_at <= @p2 " +
        "ORDER BY priority DESC, run_at, id LIMIT @p4) " +
        "RETURNING id, kind, payload, attempts, max_attempts, rescues, timeout_ms, created_at, run_at, trace_parent, priority, rescues_unstarted;";

    // Jobs claimed ahead are about to run their handlers: from now on, a lease expiry counts as a rescue. Coalesced:
    // @p0 is a JSON array of [id, lease token] pairs. Every transition out of running sets handler_started back to 1 (the
    // column's default), so a process of schema version 1 still sharing the file, which claims without setting it,
    // has its runs counted as before.
    public const string MarkStarted =
        "UPDATE ladder_jobs SET handler_started = 1 WHERE state = 2 AND (id, lease_token) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(@p0));";

    // Jobs without a key: a keyed job held back waits for a run of its key to end (a wake-up), not for a time.
    // A skip scan over the priorities of ladder_jobs_fetch (queue, priority DESC, run_at, id): one seek finds each next
    // lower priority, one more its earliest run_at (its first entry), so the statement reads two entries per priority,
    // not every claimable entry of the queue (min(run_at) read them all: docs/benchmarks/jobs.md, "Next run").
    public const string NextRunAt =
        "WITH RECURSIVE p(priority) AS (" +
        "SELECT (SELECT priority FROM ladder_jobs WHERE queue = @p0 AND state IN (0, 1, 4) AND concurrency_key IS NULL ORDER BY priority DESC LIMIT 1) " +
        "UNION ALL SELECT (SELECT j.priority FROM ladder_jobs j WHERE j.queue = @p0 AND j.state IN (0, 1, 4) AND j.concurrency_key IS NULL AND j.priority < p.priority " +
        "ORDER BY j.priority DESC LIMIT 1) FROM p WHERE p.priority IS NOT NULL) " +
        "SELECT min((SELECT j.run_at FROM ladder_jobs j WHERE j.queue = @p0 AND j.state IN (0, 1, 4) AND j.concurrency_key IS NULL AND j.priority = p.priority " +
        "ORDER BY j.priority DESC, j.run_at LIMIT 1)) FROM p WHERE p.priority IS NOT NULL;";

    // Every outcome below is a compare-and-set on (id, state running, lease token): a rescued job's late outcome matches nothing.
    // Coalesced (see CoalescedWrites): @p0 a JSON array of [id, lease token] pairs, @p1 the time; returns the ids it completed.
    public const string Complete =
        "UPDATE ladder_jobs SET state = 3, finished_at = @p1, lease_token = NULL, lease_expires_at = NULL " +
        "WHERE state = 2 AND (id, lease_token) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(@p0)) RETURNING id;";

    public const string Retry =
        "UPDATE ladder_jobs SET state = 4, run_at = @p2, handler_started = 1, lease_token = NULL, lease_expires_at = NULL, last_error = @p3 WHERE id = @p0 AND state = 2 AND lease_token = @p1;";

    public const string Kill =
        "UPDATE ladder_jobs SET state = 5, finished_at = @p2, lease_token = NULL, lease_expires_at = NULL, last_error = @p3 WHERE id = @p0 AND state = 2 AND lease_token = @p1;";

    public const string Snooze =
        "UPDATE ladder_jobs SET state = 0, run_at = @p2, attempts = attempts - 1, handler_started = 1, lease_token = NULL, lease_expires_at = NULL WHERE id = @p0 AND state = 2 AND lease_token = @p1;";

    // Given back on shutdown: the attempt it was charged at claim time is refunded.
    public const string GiveBack =
        "UPDATE ladder_jobs SET state = 1, attempts = attempts - 1, handler_started = 1, lease_token = NULL, lease_expires_at = NULL WHERE id = @p0 AND state = 2 AND lease_token = @p1;";

    // Also a run cancelled while it ran (state 6 keeps its lease token): its handler may ignore its token, and its lease,
    // heartbeated until the handler really ends, keeps a retry from running the job a second time at once.
    // Never earlier than it is: of two extensions of one lease (a heartbeat, a rescue's), the later expiry stays.
    public const string Heartbeat =
        "UPDATE ladder_jobs SET lease_expires_at = CASE WHEN lease_expires_at > @p2 THEN lease_expires_at ELSE @p2 END " +
        "WHERE id = @p0 AND state IN (2, 6) AND lease_token = @p1 RETURNING state;";

    // The handler of a run cancelled while it ran has ended: its lease no longer holds back a retry.
    public const string ReleaseCancelled =
        "UPDATE ladder_jobs SET lease_token = NULL, lease_expires_at = NULL WHERE id = @p0 AND state = 6 AND lease_token = @p1;";

    public const string InsertAttempt =
        "INSERT INTO ladder_job_attempts(job_id, attempt, outcome, started_at, finished_at, error_type, error_message, error_stack) VALUES(@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7);";

    public const string RecordRescues =
        "INSERT INTO ladder_job_attempts(job_id, attempt, outcome, started_at, finished_at, error_type, error_message) " +
        "SELECT id, attempts, CASE WHEN handler_started = 1 THEN 'rescued' ELSE 'released' END, started_at, @p0, NULL, " +
        "CASE WHEN handler_started = 1 THEN 'The lease expired: the processor holding the job stopped or hung.' " +
        "ELSE 'The lease expired before the job started (claimed ahead by a processor that stopped); not counted as a rescue.' END " +
        "FROM ladder_jobs INDEXED BY ladder_jobs_state WHERE state = 2 AND lease_expires_at < @p0 RETURNING outcome;";

    // The rescue's two statements name their index (INDEXED BY): statistics written by an ANALYZE while one state held
    // every row made the planner scan the whole table here (QueryPlanTests), under the write lock, every rescue interval.
    // Rescues are counted apart from attempts (the interrupted attempt is refunded); too many rescues is poison. Only
    // a run whose handler had started counts: a job that waited in a dead processor's prefetch did nothing wrong.
    public const string Rescue =
        "UPDATE ladder_jobs INDEXED BY ladder_jobs_state SET rescues = rescues + handler_started, rescues_unstarted = rescues_unstarted + 1 - handler_started, " +
        "attempts = attempts - 1, handler_started = 1, lease_token = NULL, lease_expires_at = NULL, " +
        "state = CASE WHEN handler_started = 1 AND rescues + 1 > @p1 THEN 5 ELSE 1 END, " +
        "finished_at = CASE WHEN handler_started = 1 AND rescues + 1 > @p1 THEN @p0 ELSE NULL END, " +
        "last_error = CASE WHEN handler_started = 1 AND rescues + 1 > @p1 THEN 'Poison: its lease expired ' || (rescues + 1) || ' times while its handler ran (the processor running it died or hung each time).' ELSE last_error END " +
        "WHERE state = 2 AND lease_expires_at < @p0 RETURNING id, state;";

    // A running job keeps its lease when cancelled: its handler (maybe in another process, told only at its next
    // heartbeat) may still run, heartbeated, until it ends, so a retry must wait for it or the job would run twice at once.
    public const string Cancel =
        "UPDATE ladder_jobs SET state = 6, finished_at = @p1, lease_token = CASE WHEN state = 2 THEN lease_token END, lease_expires_at = CASE WHEN state = 2 THEN lease_expires_at END " +
        "WHERE id = @p0 AND state IN (0, 1, 2, 4) RETURNING queue;";

    public const string RetryDead =
        "UPDATE ladder_jobs SET state = 1, run_at = @p1, attempts = 0, rescues = 0, rescues_unstarted = 0, handler_started = 1, finished_at = NULL, lease_token = NULL, lease_expires_at = NULL " +
        "WHERE id = @p0 AND state IN (4, 5, 6) AND (lease_expires_at IS NULL OR lease_expires_at < @p1) RETURNING queue;";

    // Retention deletes in small batches (one write transaction each) so claims and completions never wait long.
    // A purge's candidates, read on a reader connection ($state, $cutoff, $limit); the writer deletes those still finished
    // in that state before the cutoff (@p2 the candidates' ids as a JSON array), by primary key.
    public const string PurgeCandidates =
        "SELECT id FROM ladder_jobs WHERE state = $state AND finished_at < $cutoff ORDER BY id LIMIT $limit;";

    public const string PurgeAttemptsBatch =
        "DELETE FROM ladder_job_attempts WHERE job_id IN (SELECT id FROM ladder_jobs WHERE id IN (SELECT value FROM json_each(@p2)) AND state = @p0 AND finished_at < @p1);";

    public const string PurgeBatch =
        "DELETE FROM ladder_jobs WHERE id IN (SELECT value FROM json_each(@p2)) AND state = @p0 AND finished_at < @p1;";

    /// <summary>
    /// A stored per-attempt timeout, validated where it is read: a row written by another writer may hold any value, and
    /// beyond what timers take it is the longest they take (a TimeSpan of it would overflow).
    /// </summary>
    public static TimeSpan? Timeout(long? ms) =>
        ms is not { } v ? null : v >= (long)JobOptions.MaxTimeout.TotalMilliseconds ? JobOptions.MaxTimeout : TimeSpan.FromMilliseconds(Math.Max(v, 0));

    public static object? Db(object? value) => value ?? DBNull.Value;

    public static long? NullableInt64(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    public static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
