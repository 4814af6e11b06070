namespace Ladder.Jobs.PostgreSql.Internal;

/// <summary>
/// The statements of concurrency keys and rate limits (docs/jobs/concurrency.md). Scopes: 0 queue, 1 concurrency key.
/// The limited claim runs after <see cref="Lock"/> in the same transaction; its clock is read once, after the lock is
/// granted (<c>clock_timestamp()</c>), so the starts it records are in the order of the claims that made them.
/// </summary>
internal sealed class LimitSql
{
    public LimitSql(string schema, bool contextClock)
    {
        var now = contextClock ? "@now" : "(SELECT t FROM clock)";
        string S(string text) => text.Replace("{s}", schema, StringComparison.Ordinal).Replace("{now}", now, StringComparison.Ordinal);

        // One lock per schema: every claim that counts running keyed jobs or starts is serialised (transaction-scoped,
        // released by the commit that makes its claims visible; the next holder's statement snapshot is taken after).
        Lock = "SELECT pg_advisory_xact_lock(@lock_key)";

        // The walk starts from a seed row at @cursor (n 0, left out of keys), so one recursive step finds every key.
        // Keys with jobs waiting in the queue by a loose index scan of jobs_claimable_keyed (one seek per key, however
        // many jobs each key holds), round robin: from after @cursor (the last key the previous claim visited), wrapping
        // once, at most @max_keys, and no further once the keys visited can start @target jobs (got: the sum of each key's
        // free slots up to its runnable jobs, 0 for a rate-limited key: 100 keys with limit 4 and a claim of 68 visit 17
        // keys, not 100); each with the limit of its first job in claim order, its running jobs (in any queue, through
        // jobs_running_keys) and its rate room. Candidates: each key's first jobs in claim order up to its free slots and
        // room, and the jobs without a key, merged in claim order. A key without a rate limit has them read once, by the
        // walk (ids, prios, runs: the rows it counts), not again by "cand": a second seek per key, past the dead entries
        // at the head of the key's range until a vacuum (keyed / plain at 16 slots, 6 pairs: median 72.9 % against 69.6 %;
        // docs/benchmarks/jobs-postgresql.md). A rate-limited key's, up to its room, are read by "cand". The first
        // @start_now start at once, the rest
        // (up to @target) are claimed ahead, except jobs of a rate-limited key; a rate-limited queue takes only
        // @start_now, and no more than its room. The last row (id NULL) carries: keys held back, whether keyed jobs wait,
        // whether the queue has a rate limit, when its window reopens if it has no room, the last key visited, and
        // whether the walk stopped at @max_keys (the next claim goes on at once), and when the next job without a key
        // becomes runnable (Sql.NextRunIn's first column and its skip scan over the priorities, "firsts", saving its round
        // trip; the rows this claim takes are still claimable in the statement's snapshot, so they are left out: each
        // priority's scan passes at most the rows taken), and whether the walk wrapped past the last key. The walk ends
        // where it began (@cursor), or, continuing a run of fruitless claims (no job taken, the most keys visited), where
        // that run began (@walk_end) and without wrapping again if the run has (@walk_passed):
        // every key visited with none startable, the claim says so (not "claim again at once", a hot loop while more keys
        // than a claim visits are all full).
        // The rows taken are locked in id order ("locked", all of them before the update: an init plan) and only then
        // updated: the candidates are not locked when read (no SKIP LOCKED here), so the update may wait for a row, and
        // updated in claim order it held a higher row while it waited for a lower one. A stalled host's late lease write
        // locks its rows in id order whatever their state (Sql.LockedLeases), so also rows rescued meanwhile and now
        // claimable: with two of them the pair deadlocked (40P01; LockOrderTests). A row changed meanwhile is still
        // locked and then left out by the update's state filter, rechecked on its newest version. That filter reads
        // "state + 0", which jobs_state cannot serve: analyzed while every job ran, the planner took claimable rows for
        // rare and found the 64 rows through jobs_state, reading every waiting row (25 ms against 1.2 ms per claim at
        // 100,000 keyed jobs; QueryPlanTests), not through the primary key. What the update needs of "picked" it reads
        // through id arrays (init plans), not a join: joined, with that filter's guessed selectivity, the planner
        // rescanned "picked" once per row (a claim of 64 took 0.4-0.5 ms longer). A row's key is its candidate's key.
        Claim = S(
            """
            WITH RECURSIVE clock AS MATERIALIZED (SELECT clock_timestamp() AS t),
            walk(k, lim, n, wrapped, running, got, ids, prios, runs) AS (
              SELECT @cursor::text, 0, 0, false, 0::bigint, 0::bigint, NULL::bigint[], NULL::integer[], NULL::timestamptz[]
              UNION ALL
              SELECT x.concurrency_key, x.concurrency_limit, walk.n + 1, x.w, t.running, walk.got + coalesce(cardinality(e.ids), 0),
                e.ids, e.prios, e.runs FROM walk, LATERAL (
                SELECT * FROM (
                  (SELECT j.concurrency_key, j.concurrency_limit, walk.wrapped AS w FROM {s}.jobs j
                   WHERE j.queue = @queue AND j.state IN (0, 1, 4) AND j.concurrency_key IS NOT NULL AND j.concurrency_key > walk.k
                   ORDER BY j.concurrency_key, j.priority DESC, j.run_at, j.id LIMIT 1)
                  UNION ALL
                  (SELECT j.concurrency_key, j.concurrency_limit, true FROM {s}.jobs j
                   WHERE NOT walk.wrapped AND NOT @walk_passed AND j.queue = @queue AND j.state IN (0, 1, 4) AND j.concurrency_key IS NOT NULL
                   ORDER BY j.concurrency_key, j.priority DESC, j.run_at, j.id LIMIT 1)
                  LIMIT 1) y
                WHERE NOT ((y.w OR @walk_passed) AND y.concurrency_key > coalesce(@walk_end, @cursor))) x
              CROSS JOIN LATERAL (SELECT count(*) AS running FROM {s}.jobs r WHERE r.state = 2 AND r.concurrency_key = x.concurrency_key) t
              CROSS JOIN LATERAL (SELECT array_agg(z.id) AS ids, array_agg(z.priority) AS prios, array_agg(z.run_at) AS runs FROM (
                  SELECT a.id, a.priority, a.run_at FROM {s}.jobs a WHERE a.queue = @queue AND a.concurrency_key = x.concurrency_key
                    AND a.state IN (0, 1, 4) AND a.run_at <= {now}
                  ORDER BY a.priority DESC, a.run_at, a.id LIMIT greatest(0, x.concurrency_limit - t.running)) z
                WHERE NOT EXISTS (SELECT 1 FROM {s}.rate_limits l WHERE l.scope = 1 AND l.name = x.concurrency_key)) e
              WHERE walk.n < @max_keys AND (walk.n = 0 OR walk.got < @target)),
            keys AS (SELECT * FROM walk WHERE n > 0),
            kstate AS MATERIALIZED (
              SELECT keys.k, keys.lim, keys.n, keys.running, keys.ids, keys.prios, keys.runs, kr.room FROM keys
              LEFT JOIN LATERAL (
                SELECT l.max_starts - (SELECT count(*) FROM {s}.rate_starts x
                  WHERE x.scope = 1 AND x.name = keys.k AND x.at > {now} - l.window_ms * interval '1 millisecond') AS room
                FROM {s}.rate_limits l WHERE l.scope = 1 AND l.name = keys.k) kr ON true),
            qrate AS MATERIALIZED (
              SELECT l.max_starts - (SELECT count(*) FROM {s}.rate_starts x
                  WHERE x.scope = 0 AND x.name = @queue AND x.at > {now} - l.window_ms * interval '1 millisecond') AS room,
                (SELECT min(x.at) FROM {s}.rate_starts x
                  WHERE x.scope = 0 AND x.name = @queue AND x.at > {now} - l.window_ms * interval '1 millisecond') + l.window_ms * interval '1 millisecond' AS reopens
              FROM {s}.rate_limits l WHERE l.scope = 0 AND l.name = @queue),
            cand AS (
              SELECT c.id, c.priority, c.run_at, f.room IS NOT NULL AS key_rated, f.k FROM kstate f CROSS JOIN LATERAL (
                (SELECT u.id, u.priority, u.run_at FROM unnest(f.ids, f.prios, f.runs) AS u(id, priority, run_at) WHERE f.room IS NULL LIMIT @target)
                UNION ALL
                (SELECT j.id, j.priority, j.run_at FROM {s}.jobs j
                 WHERE f.room IS NOT NULL AND j.queue = @queue AND j.concurrency_key = f.k AND j.state IN (0, 1, 4) AND j.concurrency_key IS NOT NULL
                   AND j.run_at <= {now}
                 ORDER BY j.priority DESC, j.run_at, j.id
                 LIMIT greatest(0, least(@target::bigint, f.lim - f.running, f.room)))) c
              UNION ALL
              (SELECT id, priority, run_at, false, NULL FROM {s}.jobs
               WHERE queue = @queue AND state IN (0, 1, 4) AND concurrency_key IS NULL AND run_at <= {now}
               ORDER BY priority DESC, run_at, id LIMIT @target)),
            ranked AS (SELECT cand.*, row_number() OVER (ORDER BY priority DESC, run_at, id) AS rn FROM cand),
            picked AS MATERIALIZED (
              SELECT id, key_rated, k, row_number() OVER (ORDER BY priority DESC, run_at, id) AS n FROM (
                SELECT * FROM ranked WHERE rn <= @start_now OR NOT key_rated ORDER BY priority DESC, run_at, id
                LIMIT least(CASE WHEN EXISTS (SELECT 1 FROM qrate) THEN @start_now::bigint ELSE @target::bigint END,
                  greatest(0, coalesce((SELECT room FROM qrate), @target::bigint)))) p),
            locked AS MATERIALIZED (SELECT id FROM {s}.jobs WHERE id = ANY(ARRAY(SELECT id FROM picked)) ORDER BY id FOR UPDATE),
            upd AS (
              UPDATE {s}.jobs j SET state = 2, lease_token = @token, lease_expires_at = {now} + @lease, attempts = j.attempts + 1,
                started_at = {now}, handler_started = j.id = ANY(ARRAY(SELECT id FROM picked WHERE n <= @start_now))
              WHERE j.id = ANY(ARRAY(SELECT id FROM locked)) AND j.state + 0 IN (0, 1, 4)
              RETURNING j.id, j.kind, j.payload, j.attempts, j.max_attempts, j.rescues, j.timeout_ms, j.created_at, j.run_at, j.started_at,
                j.trace_parent, j.priority, j.handler_started, j.rescues_unstarted,
                j.id = ANY(ARRAY(SELECT id FROM picked WHERE key_rated)) AS key_rated, j.concurrency_key AS k),
            starts AS (
              INSERT INTO {s}.rate_starts(scope, name, at)
              SELECT 0, @queue, {now} FROM upd WHERE EXISTS (SELECT 1 FROM qrate)
              UNION ALL SELECT 1, upd.k, {now} FROM upd WHERE upd.key_rated),
            firsts AS (
              (SELECT priority, run_at FROM {s}.jobs WHERE queue = @queue AND state IN (0, 1, 4) AND concurrency_key IS NULL
                 AND NOT id IN (SELECT id FROM upd)
               ORDER BY priority DESC, run_at, id LIMIT 1)
              UNION ALL
              SELECT n.priority, n.run_at FROM firsts f CROSS JOIN LATERAL (
                SELECT priority, run_at FROM {s}.jobs WHERE queue = @queue AND state IN (0, 1, 4) AND concurrency_key IS NULL
                  AND priority < f.priority AND NOT id IN (SELECT id FROM upd)
                ORDER BY priority DESC, run_at, id LIMIT 1) n)
            SELECT id, kind, payload, attempts, max_attempts, rescues, timeout_ms, created_at, run_at, started_at, trace_parent, priority,
              handler_started, rescues_unstarted, NULL::bigint, NULL::boolean, NULL::boolean, NULL::interval, NULL::text, NULL::boolean, NULL::interval,
              NULL::boolean FROM upd
            UNION ALL
            SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
              (SELECT count(*) FROM kstate WHERE running >= lim OR room <= 0)
                + greatest(0, least(@target::bigint, (SELECT count(*) FROM cand)) - (SELECT count(*) FROM picked)),
              EXISTS (SELECT 1 FROM keys), EXISTS (SELECT 1 FROM qrate),
              (SELECT reopens - {now} FROM qrate WHERE room <= 0),
              (SELECT k FROM keys ORDER BY n DESC LIMIT 1),
              (SELECT count(*) FROM keys) >= @max_keys,
              (SELECT min(run_at) FROM firsts) - {now},
              EXISTS (SELECT 1 FROM keys WHERE wrapped)
            """);

        // Starts older than their limit's window count no more; starts of a removed limit go at once.
        PruneStarts = S(
            "DELETE FROM {s}.rate_starts x WHERE x.at <= now() - coalesce((SELECT l.window_ms FROM {s}.rate_limits l " +
            "WHERE l.scope = x.scope AND l.name = x.name), 0) * interval '1 millisecond'");

        SetRate = S(
            "INSERT INTO {s}.rate_limits(scope, name, max_starts, window_ms) VALUES(@scope, @name, @max_starts, @window_ms) " +
            "ON CONFLICT (scope, name) DO UPDATE SET max_starts = excluded.max_starts, window_ms = excluded.window_ms");

        RemoveRate = S(
            "WITH gone AS (DELETE FROM {s}.rate_limits WHERE scope = @scope AND name = @name RETURNING 1), " +
            "starts AS (DELETE FROM {s}.rate_starts WHERE scope = @scope AND name = @name) SELECT count(*) FROM gone");

        Rates = S("SELECT scope, name, max_starts, window_ms FROM {s}.rate_limits ORDER BY scope, name COLLATE \"C\"");

        // The keys page: the running and the waiting keyed jobs, each half by the filter of its partial index
        // (jobs_running_keys, jobs_claimable_keyed), so it reads the keyed jobs in use and not the table. As one filter
        // (state IN (0, 1, 2, 4)) neither index implied it and every job was read: 8-14 ms at 100,000 jobs, nearly all
        // finished, for 100 keyed ones (QueryPlanTests).
        KeysInUse = S(
            "SELECT k, max(lim), sum(running), sum(waiting) FROM (" +
            "SELECT concurrency_key AS k, concurrency_limit AS lim, 1 AS running, 0 AS waiting FROM {s}.jobs WHERE state = 2 AND concurrency_key IS NOT NULL " +
            "UNION ALL SELECT concurrency_key, concurrency_limit, 0, 1 FROM {s}.jobs WHERE state IN (0, 1, 4) AND concurrency_key IS NOT NULL) u " +
            "GROUP BY k ORDER BY 3 DESC, k COLLATE \"C\" LIMIT @limit");
    }

    public string Lock { get; }

    public string Claim { get; }

    public string PruneStarts { get; }

    public string SetRate { get; }

    public string RemoveRate { get; }

    public string Rates { get; }

    public string KeysInUse { get; }
}
