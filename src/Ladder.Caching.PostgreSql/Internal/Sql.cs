namespace Ladder.Caching.PostgreSql.Internal;

/// <summary>
/// The backplane's SQL for one (schema, table). Names are validated identifiers (lower-case letters, digits, '_'),
/// and quoted all the same.
/// </summary>
internal sealed class Sql
{
    public Sql(PostgresBackplaneOptions options)
    {
        Table = $"\"{options.Schema}\".\"{options.Table}\"";
        StateTable = $"\"{options.Schema}\".\"{options.Table}_state\"";
        QualifiedName = $"{options.Schema}.{options.Table}";
        Channel = options.Channel;

        // Two nodes starting at once would race on the catalog (CREATE ... IF NOT EXISTS is not atomic): an advisory lock serialises them.
        Create = $"""
            SELECT pg_advisory_xact_lock(hashtext('ladder-cache-schema:{QualifiedName}'));
            DO $create$ BEGIN
                -- Not CREATE SCHEMA IF NOT EXISTS: that needs CREATE on the database even when the schema exists, and a
                -- user with only USAGE and CREATE on a schema an owner made must still be able to create the log in it.
                IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '{options.Schema}') THEN
                    CREATE SCHEMA "{options.Schema}";
                END IF;
            END $create$;
            CREATE TABLE IF NOT EXISTS {Table} (
                seq bigserial PRIMARY KEY,
                xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
                kind text NOT NULL,
                node text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                changes text NOT NULL);
            CREATE INDEX IF NOT EXISTS "{options.Table}_created_at" ON {Table} (created_at);
            CREATE INDEX IF NOT EXISTS "{options.Table}_xid" ON {Table} (xid);
            CREATE TABLE IF NOT EXISTS {StateTable} (id int PRIMARY KEY CHECK (id = 1), pruned_through bigint NOT NULL);
            INSERT INTO {StateTable} (id, pruned_through) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
            """;

        Exists = "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL";
        Privileges = $"""
            SELECT has_table_privilege($1, 'SELECT') AND has_table_privilege($1, 'INSERT'),
                   has_table_privilege($2, 'SELECT'),
                   has_sequence_privilege(pg_get_serial_sequence($1, 'seq'), 'USAGE')
            """;

        // The hole proof needs numbers handed out in time order across sessions: the sequence must not cache.
        SequenceCache = "SELECT coalesce((SELECT seqcache FROM pg_catalog.pg_sequence WHERE seqrelid = pg_get_serial_sequence($1, 'seq')::regclass), 1)";

        // The transaction id is taken before the sequence number (a statement of its own, first in the batch): a
        // reader that sees a later number then knows this transaction already has its id, which is what lets a
        // fresh id bound it and prove a hole empty (see Applying).
        AssignXid = "SELECT pg_current_xact_id()";

        // The listener's probe: one round trip on its own connection, and the newest number (a backward scan of the
        // primary key), so a NOTIFY lost on the way is noticed too.
        Probe = $"SELECT coalesce(max(seq), 0) FROM {Table}";
        FreshXid = "SELECT pg_current_xact_id()::text::bigint, set_config('synchronous_commit', 'off', true)";
        Insert = $"""
            WITH ins AS (INSERT INTO {Table} (kind, node, changes) VALUES ($1, $2, $3) RETURNING seq, created_at)
            SELECT ins.seq, pg_notify($4, ins.seq::text || ':' || (extract(epoch FROM ins.created_at) * 1000000)::bigint::text || coalesce(':' || $5, ''))
            FROM ins
            """;

        // One statement, so the rows and the snapshot's xmin/xmax come from the same snapshot.
        ReadAfter = $"""
            SELECT snap.xmin, snap.xmax, st.pruned_through, r.seq, r.kind, r.node, (extract(epoch FROM r.created_at) * 1000000)::bigint, r.changes
            FROM (SELECT pg_snapshot_xmin(c)::text::bigint AS xmin, pg_snapshot_xmax(c)::text::bigint AS xmax FROM pg_current_snapshot() c) snap
            CROSS JOIN {StateTable} st
            LEFT JOIN LATERAL (SELECT seq, kind, node, created_at, changes FROM {Table} WHERE seq > $1 ORDER BY seq LIMIT $2) r ON true
            ORDER BY r.seq
            """;

        Initialize = $"""
            SELECT coalesce((SELECT max(seq) FROM {Table}), 0), (SELECT pruned_through FROM {StateTable}),
                   pg_current_snapshot()::text, pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
                   pg_snapshot_xmax(pg_current_snapshot())::text::bigint
            """;

        // Rows at or below the start position that were not visible when the node started: their transactions
        // were open then (they took their number before the start and committed after it).
        ReadStartWindow = $"""
            SELECT snap.xmin, r.seq, r.kind, r.node, (extract(epoch FROM r.created_at) * 1000000)::bigint, r.changes, st.pruned_through
            FROM (SELECT pg_snapshot_xmin(c)::text::bigint AS xmin FROM pg_current_snapshot() c) snap
            CROSS JOIN {StateTable} st
            LEFT JOIN LATERAL (SELECT seq, kind, node, created_at, changes FROM {Table}
                               WHERE seq <= $1 AND xid >= $2::text::xid8 AND NOT pg_visible_in_snapshot(xid, $3::text::pg_snapshot)
                               ORDER BY seq) r ON true
            ORDER BY r.seq
            """;

        // What pruning may reach: the sequence's last number, then a fresh transaction id (a statement each, in
        // this order). Every number up to that last one was taken by a transaction whose id is below the fresh one;
        // once a snapshot's xmin reaches it, each of those numbers is committed (and visible) or never will be.
        PruneSampleSequence = $"SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('{Table}', 'seq')::regclass), 0)";
        SnapshotXmin = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint";
        PruneLock = $"SELECT pg_try_advisory_xact_lock(hashtext('ladder-cache-prune:{QualifiedName}'))";
        PruneCutoff = $"""
            SELECT greatest(
                coalesce((SELECT seq FROM {Table} WHERE created_at < clock_timestamp() - $1::interval ORDER BY created_at DESC LIMIT 1), 0),
                coalesce((SELECT max(seq) FROM {Table}), 0) - $2)
            """;
        Prune = $"""
            WITH del AS (DELETE FROM {Table} WHERE seq IN (SELECT seq FROM {Table} WHERE seq <= $1 ORDER BY seq LIMIT $2) RETURNING seq),
                 n AS (SELECT count(*) AS rows, max(seq) AS through FROM del)
            UPDATE {StateTable} SET pruned_through = greatest(pruned_through, coalesce((SELECT through FROM n), 0)) WHERE id = 1
            RETURNING (SELECT rows FROM n), pruned_through
            """;
    }

    public string Table { get; }

    public string StateTable { get; }

    public string QualifiedName { get; }

    public string Channel { get; }

    public string Create { get; }

    public string Exists { get; }

    public string Privileges { get; }

    public string SequenceCache { get; }

    public string AssignXid { get; }

    public string Probe { get; }

    public string FreshXid { get; }

    public string Insert { get; }

    public string ReadAfter { get; }

    public string Initialize { get; }

    public string ReadStartWindow { get; }

    public string PruneSampleSequence { get; }

    public string SnapshotXmin { get; }

    public string PruneLock { get; }

    public string PruneCutoff { get; }

    public string Prune { get; }
}
