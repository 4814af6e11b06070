namespace Ladder.Jobs.PostgreSql.Internal;

/// <summary>
/// The statements of one store, for its schema and clock. States (see <see cref="JobState"/>): 0 scheduled, 1 ready,
/// 2 running, 3 succeeded, 4 failed, 5 dead, 6 cancelled. Every "now" is the database's <c>now()</c> (the statement's
/// transaction start; each of these runs in a transaction of its own), or, in the tests' context-clock mode, the
/// parameter <c>@now</c>.
/// </summary>
/// <remarks>
/// Outcomes keep the lease token of the run that wrote them (only <c>lease_expires_at</c> is cleared), so a write
/// retried after a lost connection can tell "already applied by this run" from "lease lost": the token is random per
/// claim, and only that run's own outcome leaves it on a finished row.
/// </remarks>
internal sealed class Sql
{
    public const string Claimable = "0, 1, 4";

    public Sql(string schema, bool contextClock)
    {
        Schema = schema;
        ContextClock = contextClock;
        Channel = schema;
        var now = contextClock ? "@now" : "now()";
        string S(string text) => text.Replace("{RetriedRow}", RetriedRow, StringComparison.Ordinal)
            .Replace("{s}", schema, StringComparison.Ordinal).Replace("{now}", now, StringComparison.Ordinal);

        Insert = S(
            """
            WITH input AS MATERIALIZED (
              SELECT nextval('{s}.jobs_id_seq') AS id, t.* FROM unnest(@queue::text[], @kind::text[], @payload::text[], @priority::int[],
                @has_run_at::boolean[], @run_at::timestamptz[], @delay::interval[], @max_attempts::int[], @timeout_ms::bigint[],
                @unique_key::text[], @trace_parent::text[], @concurrency_key::text[], @concurrency_limit::int[]) WITH ORDINALITY
                AS t(queue, kind, payload, priority, has_run_at, run_at, delay, max_attempts, timeout_ms, unique_key, trace_parent, concurrency_key,
                  concurrency_limit, ord)),
            timed AS (SELECT i.*, CASE WHEN has_run_at THEN i.run_at ELSE {now} + i.delay END AS due FROM input i),
            ins AS (
              INSERT INTO {s}.jobs(id, queue, kind, payload, state, priority, run_at, max_attempts, timeout_ms, unique_key, created_at, trace_parent,
                concurrency_key, concurrency_limit)
              SELECT id, queue, kind, payload, CASE WHEN due > {now} THEN 0 ELSE 1 END, priority, due, max_attempts, timeout_ms, unique_key, {now}, trace_parent,
                concurrency_key, concurrency_limit
              FROM timed ORDER BY ord
              ON CONFLICT (kind, unique_key) WHERE unique_key IS NOT NULL DO NOTHING
              RETURNING id)
            SELECT i.id, ins.id IS NOT NULL FROM input i LEFT JOIN ins ON ins.id = i.id ORDER BY i.ord
            """);

        FindUnique = S("SELECT j.kind, j.unique_key, j.id FROM {s}.jobs j JOIN unnest(@kind::text[], @unique_key::text[]) AS u(kind, unique_key) ON j.kind = u.kind AND j.unique_key = u.unique_key");

        // One statement selects and leases: SKIP LOCKED rows another claimer holds, never waits for them. The rows taken
        // are updated through the primary key with the id arrays (`id = ANY`, init plans), not joined to "picked": a
        // generic plan (the statement is prepared) costs LIMIT @limit as a tenth of the claimable rows, and the join
        // hashed a sequential scan of the whole table to update 64 rows (28 ms against 0.4 ms at 100,000 waiting jobs);
        // with statistics that found no claimable row, it looked the 64 up once per row taken (2.9 ms; QueryPlanTests). The first
        // @start_now in claim order have their handlers started by the claim; the rest are claimed ahead. Jobs without a
        // concurrency key of a queue without a rate limit only: the others are claimed by LimitSql.Claim, under its lock.
        // A rate limit set after this statement's snapshot is obeyed from the next claim on.
        Claim = S(
            """
            WITH picked AS MATERIALIZED (
              SELECT id, row_number() OVER (ORDER BY priority DESC, run_at, id) AS n FROM (
                SELECT id, priority, run_at FROM {s}.jobs
                WHERE queue = @queue AND state IN (0, 1, 4) AND concurrency_key IS NULL AND run_at <= {now}
                  AND NOT EXISTS (SELECT 1 FROM {s}.rate_limits WHERE scope = 0 AND name = @queue)
                ORDER BY priority DESC, run_at, id LIMIT @limit FOR UPDATE SKIP LOCKED) c)
            UPDATE {s}.jobs j SET state = 2, lease_token = @token, lease_expires_at = {now} + @lease, attempts = j.attempts + 1,
              started_at = {now}, handler_started = j.id = ANY(ARRAY(SELECT id FROM picked WHERE n <= @start_now))
            WHERE j.id = ANY(ARRAY(SELECT id FROM picked))
            RETURNING j.id, j.kind, j.payload, j.attempts, j.max_attempts, j.rescues, j.timeout_ms, j.created_at, j.run_at, j.started_at,
              j.trace_parent, j.priority, j.handler_started, j.rescues_unstarted
            """);

        // Also whether the queue has limited work (keyed jobs waiting, or a rate limit): then LimitSql.Claim claims it.
        // Keyed jobs are left out of the time: one held back waits for a run of its key to end (a notification).
        // The earliest run_at is a skip scan over the priorities of jobs_claimable (queue, priority DESC, run_at, id): the
        // first entry of each priority holds that priority's earliest run_at, and the next step seeks past it to the next
        // lower priority, so the statement reads one entry per priority, not every claimable entry of the queue
        // (min(run_at) read them all: 20 ms at 100,000 jobs an hour ahead; docs/benchmarks/jobs-postgresql.md).
        NextRunIn = S(
            """
            WITH RECURSIVE firsts AS (
              (SELECT priority, run_at FROM {s}.jobs WHERE queue = @queue AND state IN (0, 1, 4) AND concurrency_key IS NULL
               ORDER BY priority DESC, run_at, id LIMIT 1)
              UNION ALL
              SELECT n.priority, n.run_at FROM firsts f CROSS JOIN LATERAL (
                SELECT priority, run_at FROM {s}.jobs WHERE queue = @queue AND state IN (0, 1, 4) AND concurrency_key IS NULL AND priority < f.priority
                ORDER BY priority DESC, run_at, id LIMIT 1) n)
            SELECT (SELECT min(run_at) FROM firsts) - {now},
              EXISTS (SELECT 1 FROM {s}.jobs WHERE queue = @queue AND state IN (0, 1, 4) AND concurrency_key IS NOT NULL),
              EXISTS (SELECT 1 FROM {s}.rate_limits WHERE scope = 0 AND name = @queue)
            """);

        // Coalesced: @id/@token are the runs of one batch. RETURNING names the pairs that held (a second run of the
        // same job in the batch has another token, so the pairs stay apart).
        // Every statement over many rows locks them first, in id order (LockedLeases): two of them (a host's completions
        // and its rescue's extension of the leases it holds, its heartbeats, its start marks) never wait for each other
        // in a cycle. Locked in the order of the arrays, they deadlocked (40P01) under the chaos test.
        MarkStarted = S(LockedLeases("2") +
            "UPDATE {s}.jobs j SET handler_started = true FROM m WHERE j.id = m.id AND j.id = ANY(@id) AND j.lease_token = m.token RETURNING m.id, m.token");

        Complete = S(LockedLeases("2") +
            "UPDATE {s}.jobs j SET state = 3, finished_at = {now}, lease_expires_at = NULL FROM m " +
            "WHERE j.id = m.id AND j.id = ANY(@id) AND j.lease_token = m.token RETURNING m.id, m.token");

        // After a write whose answer was lost: the runs a previous attempt already completed count as completed.
        CompleteRetried = S(LockedLeases("2, 3") +
            """
            , upd AS (UPDATE {s}.jobs j SET state = 3, finished_at = {now}, lease_expires_at = NULL FROM m
                    WHERE j.id = m.id AND j.id = ANY(@id) AND j.lease_token = m.token AND m.state = 2 RETURNING m.id, m.token)
            SELECT id, token FROM upd
            UNION ALL SELECT id, token FROM m WHERE state = 3
            """);

        // Retry (state 4) or dead (5), and the attempt's record, in one statement: both or neither.
        Fail = S(
            """
            WITH upd AS (
              UPDATE {s}.jobs SET state = CASE WHEN @dead THEN 5 ELSE 4 END,
                run_at = CASE WHEN @dead THEN run_at ELSE {now} + @delay END,
                finished_at = CASE WHEN @dead THEN {now} END,
                handler_started = CASE WHEN @dead THEN handler_started ELSE true END,
                lease_expires_at = NULL, last_error = @last_error
              WHERE id = @id AND state = 2 AND lease_token = @token RETURNING id, state),
            ins AS (
              INSERT INTO {s}.job_attempts(job_id, attempt, outcome, started_at, finished_at, error_type, error_message, error_stack)
              SELECT id, @attempt, CASE WHEN @dead THEN 'dead' ELSE 'failed' END, @started_at, {now}, @error_type, @error_message, @error_stack FROM upd),
            {RetriedRow}
            SELECT state FROM upd
            UNION ALL SELECT state FROM r WHERE state IN (4, 5)
            """);

        Snooze = S(
            """
            WITH upd AS (
              UPDATE {s}.jobs SET state = 0, run_at = {now} + @delay, attempts = attempts - 1, handler_started = true, lease_expires_at = NULL
              WHERE id = @id AND state = 2 AND lease_token = @token RETURNING id),
            {RetriedRow}
            SELECT id FROM upd UNION ALL SELECT id FROM r WHERE state = 0
            """);

        // Given back (shutdown, or claimed ahead and never started): the attempt charged at claim time is refunded.
        GiveBack = S(
            """
            WITH upd AS (
              UPDATE {s}.jobs SET state = 1, attempts = attempts - 1, handler_started = true, lease_expires_at = NULL
              WHERE id = @id AND state = 2 AND lease_token = @token RETURNING id, queue),
            {RetriedRow}
            SELECT queue FROM upd UNION ALL SELECT queue FROM r WHERE state = 1
            """);

        // Also a run cancelled while it ran (state 6 keeps its lease): its handler may ignore its token, and its lease,
        // heartbeated until the handler really ends, keeps a retry from running the job a second time at once.
        // Never earlier than it is: a heartbeat that read its time early (context clock: the caller's reading, taken
        // before the statement waited for its connection, its prepare or the row's lock) may land after a later one,
        // and set an expiry that had passed already; a retry then ran the job again while its handler still ran
        // (CancelRunningContract on CI). With now() the same holds for two transactions of one host that overlap.
        Heartbeat = S(LockedLeases("2, 6") +
            "UPDATE {s}.jobs j SET lease_expires_at = GREATEST(j.lease_expires_at, {now} + @lease) FROM m " +
            "WHERE j.id = m.id AND j.id = ANY(@id) AND j.lease_token = m.token RETURNING m.id, m.token, m.state");

        // The handler of a run cancelled while it ran has ended: its lease no longer holds back a retry.
        ReleaseCancelled = S("UPDATE {s}.jobs SET lease_token = NULL, lease_expires_at = NULL WHERE id = @id AND state = 6 AND lease_token = @token");

        // Expired leases, by the same clock that set them. SKIP LOCKED: a run completing right now is left alone (its
        // outcome commits or its lease is still expired at the next rescue). Rescues are counted apart from attempts
        // (the interrupted attempt is refunded); a run whose handler had not started (claimed ahead) is released uncounted.
        // The queues given jobs back are notified in the same statement, so every host wakes with the rescue's commit
        // (issue #10: a rescued job has waited a whole lease already). A NOTIFY after the commit waited for the end of
        // the rescuer's debounce window, up to NotifyDebounce more. Only a rescue that put jobs back notifies: at most
        // one transaction per host and rescue interval takes NOTIFY's commit lock. "woken" is read by the select list's
        // subquery, which runs once there is a row to return (an unreferenced CTE that is not a write never runs).
        // The expired rows are found through jobs_state (state 2) and sorted, never in the order of the primary key
        // ("id + 0": no index holds that order): analyzed while most jobs ran, the planner took every row for running; it
        // scanned the table, and with sequential scans off (Sql.NoSeqScan) walked the whole primary key for its order
        // (7.0 and 8.9 ms against 0.1 ms at 100,000 jobs, few running; QueryPlanTests). Only the expired rows are sorted.
        Rescue = S(
            """
            WITH expired AS MATERIALIZED (
              SELECT id, handler_started AS started, attempts, started_at, rescues FROM {s}.jobs
              WHERE state = 2 AND lease_expires_at < {now} ORDER BY id + 0 FOR UPDATE SKIP LOCKED),
            ins AS (
              INSERT INTO {s}.job_attempts(job_id, attempt, outcome, started_at, finished_at, error_type, error_message)
              SELECT id, attempts, CASE WHEN started THEN 'rescued' ELSE 'released' END, started_at, {now}, NULL,
                CASE WHEN started THEN 'The lease expired: the processor holding the job stopped or hung.'
                ELSE 'The lease expired before the job started (claimed ahead by a processor that stopped); not counted as a rescue.' END
              FROM expired),
            upd AS (UPDATE {s}.jobs j SET rescues = j.rescues + e.started::int, rescues_unstarted = j.rescues_unstarted + 1 - e.started::int,
              attempts = j.attempts - 1, handler_started = true, lease_token = NULL, lease_expires_at = NULL,
              state = CASE WHEN e.started AND e.rescues + 1 > @max_rescues THEN 5 ELSE 1 END,
              finished_at = CASE WHEN e.started AND e.rescues + 1 > @max_rescues THEN {now} END,
              last_error = CASE WHEN e.started AND e.rescues + 1 > @max_rescues
                THEN 'Poison: its lease expired ' || (e.rescues + 1) || ' times while its handler ran (the processor running it died or hung each time).'
                ELSE j.last_error END
            FROM expired e WHERE j.id = e.id
            RETURNING j.queue, e.started, j.state),
            woken AS MATERIALIZED (SELECT pg_notify(@channel, q.queue) FROM (SELECT DISTINCT queue FROM upd WHERE state = 1 AND @notify) q)
            SELECT queue, started, state, (SELECT count(*) FROM woken) FROM upd
            """);

        ExtendHeld = S(LockedLeases("2, 6") +
            "UPDATE {s}.jobs j SET lease_expires_at = GREATEST(j.lease_expires_at, {now} + @lease) FROM m WHERE j.id = m.id AND j.id = ANY(@id) AND j.lease_token = m.token");

        // A running job keeps its lease when cancelled: its handler (maybe on another host, told only at its next
        // heartbeat) may still run, heartbeated, until it ends, so a retry must wait for it or the job would run twice at once.
        Cancel = S(
            "UPDATE {s}.jobs SET state = 6, finished_at = {now}, lease_token = CASE WHEN state = 2 THEN lease_token END, " +
            "lease_expires_at = CASE WHEN state = 2 THEN lease_expires_at END WHERE id = @id AND state IN (0, 1, 2, 4) RETURNING queue");

        RetryFinished = S(
            "UPDATE {s}.jobs SET state = 1, run_at = {now}, attempts = 0, rescues = 0, rescues_unstarted = 0, handler_started = true, finished_at = NULL, " +
            "lease_token = NULL, lease_expires_at = NULL WHERE id = @id AND state IN (4, 5, 6) AND (lease_expires_at IS NULL OR lease_expires_at < {now}) RETURNING queue");

        // One short transaction per batch: attempts and jobs go together. SKIP LOCKED: a row someone writes is left for the next batch.
        Purge = S(
            """
            WITH doomed AS MATERIALIZED (
              SELECT id FROM {s}.jobs WHERE state = @state AND (finished_at < {now} - @age OR (@age = interval '0' AND finished_at <= {now}))
              ORDER BY id LIMIT @limit FOR UPDATE SKIP LOCKED),
            attempts AS (DELETE FROM {s}.job_attempts WHERE job_id IN (SELECT id FROM doomed))
            DELETE FROM {s}.jobs WHERE id IN (SELECT id FROM doomed)
            """);

        Counts = S("SELECT queue, state, count(*) FROM {s}.jobs WHERE (@queue::text IS NULL OR queue = @queue) GROUP BY queue, state ORDER BY queue COLLATE \"C\", state");
        StateTotals = S("SELECT state, count(*) FROM {s}.jobs GROUP BY state");

        const string SummaryColumns = "id, queue, kind, state, priority, attempts, max_attempts, rescues, unique_key, created_at, run_at, started_at, finished_at, last_error";
        Page = S(
            $"SELECT {SummaryColumns} FROM {{s}}.jobs WHERE state = @state AND id > @after AND (@queue::text IS NULL OR queue = @queue) " +
            "AND (@kind::text IS NULL OR kind = @kind) AND (@unique_key::text IS NULL OR starts_with(unique_key, @unique_key)) ORDER BY id LIMIT @limit");
        Job = S($"SELECT {SummaryColumns}, payload, timeout_ms FROM {{s}}.jobs WHERE id = @id");
        Attempts = S("SELECT attempt, outcome, started_at, finished_at, error_type, error_message, error_stack FROM {s}.job_attempts WHERE job_id = @id ORDER BY id");
    }

    // For a retried single-run outcome, its row as "r", locked, so read in its newest version: the first attempt of the
    // write (its answer lost) may still be on the server, waiting for the row, and commit after this statement's
    // snapshot; read from the snapshot, its outcome was missed and the retry said the lease was lost
    // (RetriedWriteTests). The state is filtered outside: a filter in "r" would be applied to the snapshot's version
    // before the lock. After this statement's own update of the row, "r" finds nothing (a row it changed is skipped).
    private const string RetriedRow =
        "r AS MATERIALIZED (SELECT id, state, queue FROM {s}.jobs WHERE @retried AND id = @id AND lease_token = @token FOR UPDATE)";

    // The (id, token) pairs of a batch as "c"; their rows locked in id order as "l" (a CTE with ORDER BY ... FOR UPDATE
    // locks in its output order; after a wait for a lock it reads the row's newest version); "m", the pairs whose run
    // still holds its lease in one of the states. The statement that follows updates by "m": its rows are locked,
    // so what "l" read stands. Rows are found by the primary key with the id array (`id = ANY`), whatever the planner
    // thinks of the table: with `id IN (SELECT id FROM c)` and the states in the update's filter, it chose a sequential
    // scan for the lock, and for the update a scan of every running row (dead ones included) joined back to "c" in a
    // nested loop, 13 ms for a batch of 110 completions (docs/benchmarks/jobs-postgresql.md, "Where a burn-down's time goes").
    private static string LockedLeases(string states) =>
        "WITH c AS MATERIALIZED (SELECT * FROM unnest(@id::bigint[], @token::bigint[]) AS c(id, token)), " +
        "l AS MATERIALIZED (SELECT id, state, lease_token FROM {s}.jobs WHERE id = ANY(@id) ORDER BY id FOR UPDATE), " +
        $"m AS MATERIALIZED (SELECT c.id, c.token, l.state FROM c JOIN l ON l.id = c.id AND l.lease_token = c.token WHERE l.state IN ({states})) ";

    /// <summary>
    /// Sent before a claim, the next-run query and a rescue, in their own transaction (<c>set_config(..., true)</c> is local
    /// to it): sequential scans off. Their filters all have an index (the claimable, keyed, running-keys, state and primary
    /// key indexes), but the planner weighs them by the statistics autovacuum took last, maybe while the table held one
    /// lopsided shape: analyzed while no job had a key, a keyed claim's walk read the whole table for each key it visited
    /// (352 ms against 1.1 ms per claim at 100,000 keyed jobs); analyzed while every job had one, the next-run query's
    /// "keyed jobs waiting?" scanned the table on every short plain claim (6.8 ms against 0.04 ms); analyzed while every
    /// job ran, the rescue scanned it (7.0 ms against 0.1 ms). QueryPlanTests: EXPLAIN under every such shape.
    /// </summary>
    public const string NoSeqScan = "SELECT FROM set_config('enable_seqscan', 'off', true)";

    /// <summary><see cref="NoSeqScan"/> with bitmap scans off too (the plain claim: PostgresJobStore.ClaimPlainAsync).</summary>
    public const string NoSeqOrBitmapScan = "SELECT FROM set_config('enable_seqscan', 'off', true) s, set_config('enable_bitmapscan', 'off', true) b";

    public string Schema { get; }

    public bool ContextClock { get; }

    /// <summary>The NOTIFY channel (the schema name: two stores in one database never wake each other).</summary>
    public string Channel { get; }

    public string Insert { get; }

    public string FindUnique { get; }

    public string Claim { get; }

    public string NextRunIn { get; }

    public string MarkStarted { get; }

    public string Complete { get; }

    public string CompleteRetried { get; }

    public string Fail { get; }

    public string Snooze { get; }

    public string GiveBack { get; }

    public string Heartbeat { get; }

    public string ReleaseCancelled { get; }

    public string Rescue { get; }

    public string ExtendHeld { get; }

    public string Cancel { get; }

    public string RetryFinished { get; }

    public string Purge { get; }

    public string Counts { get; }

    public string StateTotals { get; }

    public string Page { get; }

    public string Job { get; }

    public string Attempts { get; }
}
