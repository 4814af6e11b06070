namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>The statements of concurrency keys and rate limits (docs/jobs/concurrency.md). Scopes: 0 queue, 1 concurrency key.</summary>
internal static class LimitSql
{
    // The queue's rate limit with its starts in the window (@p1 now): room = max_starts - started; the window reopens
    // when its oldest start leaves it.
    public const string QueueRate =
        "SELECT r.max_starts - (SELECT count(*) FROM ladder_rate_starts s WHERE s.scope = 0 AND s.name = @p0 AND s.at > @p1 - r.window_ms), " +
        "(SELECT min(s.at) FROM ladder_rate_starts s WHERE s.scope = 0 AND s.name = @p0 AND s.at > @p1 - r.window_ms) + r.window_ms " +
        "FROM ladder_rate_limits r WHERE r.scope = 0 AND r.name = @p0;";

    // Whether the queue has keyed jobs waiting (one seek of ladder_jobs_fetch_keyed), and, when it has or it has a rate
    // limit (@p2 = 1), whether it has jobs without a key runnable now (@p1): the limited claim reads plain candidates only
    // then. The second test reads ladder_jobs_fetch as PlainCandidates' first row would (past jobs of higher priorities
    // not yet runnable), so a plain queue's claim, which reads them in its own statement, does not run it. Every claim
    // runs this statement, so it names its indexes: after an ANALYZE taken while every job waited with a key, SQLite
    // (the bundled 3.53, and 3.40) scanned the whole table here (7 ms a claim at 100,000 rows, against 8 µs).
    public const string HasKeyed =
        "SELECT k, CASE WHEN k OR @p2 THEN EXISTS (SELECT 1 FROM ladder_jobs INDEXED BY ladder_jobs_fetch WHERE queue = @p0 AND state IN (0, 1, 4) " +
        "AND concurrency_key IS NULL AND run_at <= @p1) ELSE 0 END " +
        "FROM (SELECT EXISTS (SELECT 1 FROM ladder_jobs INDEXED BY ladder_jobs_fetch_keyed WHERE queue = @p0 AND state IN (0, 1, 4) AND concurrency_key IS NOT NULL) AS k);";

    // The walk over the keys with jobs waiting, in key order after @p1 ('' for the first key: a key is never empty), at
    // most @p3 keys: per key, its name, the limit of its first job in claim order, its running jobs (in any queue, through
    // ladder_jobs_running_keys), and the room of its rate limit and when its window reopens, if it has one (@p2 now).
    // One statement for a stretch of keys: each step of the recursion is one seek of ladder_jobs_fetch_keyed (a loose
    // index scan, one step per key however many jobs it holds); n keeps the walk's order. CROSS JOIN keeps the walk the
    // outer loop: after an ANALYZE, the bundled SQLite (3.53) joined the other way, a scan of the whole table probing the
    // walk with an automatic index, on every keyed claim (QueryPlanTests).
    public const string KeyWalk =
        "WITH RECURSIVE walk(n, id, key) AS (" +
        "SELECT * FROM (SELECT 1, id, concurrency_key FROM ladder_jobs WHERE queue = @p0 AND state IN (0, 1, 4) AND concurrency_key > @p1 " +
        "ORDER BY concurrency_key, priority DESC, run_at, id LIMIT 1) " +
        "UNION ALL SELECT walk.n + 1, j.id, j.concurrency_key FROM walk CROSS JOIN ladder_jobs j ON j.id = (SELECT m.id FROM ladder_jobs m " +
        "WHERE m.queue = @p0 AND m.state IN (0, 1, 4) AND m.concurrency_key > walk.key ORDER BY m.concurrency_key, m.priority DESC, m.run_at, m.id LIMIT 1) " +
        "WHERE walk.n < @p3) " +
        "SELECT w.key, h.concurrency_limit, (SELECT count(*) FROM ladder_jobs r WHERE r.state = 2 AND r.concurrency_key = w.key), " +
        "l.max_starts - (SELECT count(*) FROM ladder_rate_starts s WHERE s.scope = 1 AND s.name = w.key AND s.at > @p2 - l.window_ms), " +
        "(SELECT min(s.at) FROM ladder_rate_starts s WHERE s.scope = 1 AND s.name = w.key AND s.at > @p2 - l.window_ms) + l.window_ms " +
        "FROM walk w CROSS JOIN ladder_jobs h ON h.id = w.id LEFT JOIN ladder_rate_limits l ON l.scope = 1 AND l.name = w.key ORDER BY w.n;";

    // The runnable jobs of the keys in @p3 (a JSON array), at most @p2 per key (@p1 now), in no order: the claim sorts them.
    public const string KeyCandidates =
        "SELECT c.concurrency_key, c.id, c.priority, c.run_at, c.concurrency_limit FROM json_each(@p3) w CROSS JOIN ladder_jobs c ON c.id IN " +
        "(SELECT x.id FROM ladder_jobs x WHERE x.queue = @p0 AND x.concurrency_key = w.value AND x.state IN (0, 1, 4) AND x.concurrency_key IS NOT NULL " +
        "AND x.run_at <= @p1 ORDER BY x.priority DESC, x.run_at, x.id LIMIT @p2);";

    public const string PlainCandidates =
        "SELECT id, priority, run_at FROM ladder_jobs WHERE queue = @p0 AND state IN (0, 1, 4) AND concurrency_key IS NULL AND run_at <= @p1 " +
        "ORDER BY priority DESC, run_at, id LIMIT @p2;";

    // Leases the chosen jobs. @p3: a JSON array of ids; @p4: whether their handlers start at once (1) or they are claimed ahead (0).
    public const string ClaimIds =
        "UPDATE ladder_jobs SET state = 2, lease_token = @p0, lease_expires_at = @p1, attempts = attempts + 1, started_at = @p2, handler_started = @p4 " +
        "WHERE state IN (0, 1, 4) AND id IN (SELECT value FROM json_each(@p3)) " +
        "RETURNING id, kind, payload, attempts, max_attempts, rescues, timeout_ms, created_at, run_at, trace_parent, priority, rescues_unstarted;";

    public const string RecordStart = "INSERT INTO ladder_rate_starts(scope, name, at) VALUES(@p0, @p1, @p2);";

    // Starts older than their limit's window count no more; starts of a removed limit go at once.
    public const string PruneStarts =
        "DELETE FROM ladder_rate_starts WHERE at <= @p0 - coalesce((SELECT r.window_ms FROM ladder_rate_limits r " +
        "WHERE r.scope = ladder_rate_starts.scope AND r.name = ladder_rate_starts.name), 0);";

    public const string SetRate =
        "INSERT INTO ladder_rate_limits(scope, name, max_starts, window_ms) VALUES(@p0, @p1, @p2, @p3) " +
        "ON CONFLICT(scope, name) DO UPDATE SET max_starts = excluded.max_starts, window_ms = excluded.window_ms;";

    public const string RemoveRate = "DELETE FROM ladder_rate_limits WHERE scope = @p0 AND name = @p1;";

    public const string RemoveStarts = "DELETE FROM ladder_rate_starts WHERE scope = @p0 AND name = @p1;";

    public const string Rates = "SELECT scope, name, max_starts, window_ms FROM ladder_rate_limits ORDER BY scope, name;";

    // The dashboard's keys page (polled): through ladder_jobs_state, named, as JobsPage is (after an ANALYZE it scanned).
    public const string KeysInUse =
        "SELECT concurrency_key, max(concurrency_limit), sum(state = 2), sum(state <> 2) FROM ladder_jobs INDEXED BY ladder_jobs_state " +
        "WHERE state IN (0, 1, 2, 4) AND concurrency_key IS NOT NULL GROUP BY concurrency_key ORDER BY 3 DESC, 1 LIMIT $limit;";
}
