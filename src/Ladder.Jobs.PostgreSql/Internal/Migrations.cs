namespace Ladder.Jobs.PostgreSql.Internal;

/// <summary>The schema versions of the store, in order; <c>{s}</c> is the schema. Times are <c>timestamptz</c> from the database clock.</summary>
internal static class Migrations
{
    /// <summary>The schema version this library writes.</summary>
    public const long Version = 2;

    private static readonly string[] Steps =
    [
        // Version 1. States: see JobState (0 scheduled ... 6 cancelled).
        // Indexes: the claim in claim order over claimable rows only; the unique key over every row until purged (as on
        // SQLite: a finished job still holds its key); (state, id) for inspection pages, the rescue (few running rows)
        // and retention. No index holds lease_expires_at, so a heartbeat is a HOT update.
        // Autovacuum per table: every job leaves three dead tuples (claim, outcome, purge); the defaults (20 % of the
        // table, throttled) let a busy queue's table grow with every job ever run (docs/benchmarks/jobs-postgresql.md).
        """
        CREATE TABLE {s}.jobs(
          id bigserial PRIMARY KEY,
          queue text NOT NULL,
          kind text NOT NULL,
          payload text NOT NULL,
          state smallint NOT NULL,
          priority integer NOT NULL DEFAULT 0,
          run_at timestamptz NOT NULL,
          attempts integer NOT NULL DEFAULT 0,
          max_attempts integer NOT NULL,
          rescues integer NOT NULL DEFAULT 0,
          rescues_unstarted integer NOT NULL DEFAULT 0,
          handler_started boolean NOT NULL DEFAULT true,
          timeout_ms bigint,
          unique_key text,
          lease_token bigint,
          lease_expires_at timestamptz,
          created_at timestamptz NOT NULL,
          started_at timestamptz,
          finished_at timestamptz,
          last_error text,
          trace_parent text)
        WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0,
          autovacuum_vacuum_insert_threshold = 10000, autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0,
          autovacuum_analyze_threshold = 10000);
        CREATE UNIQUE INDEX jobs_unique ON {s}.jobs(kind, unique_key) WHERE unique_key IS NOT NULL;
        CREATE INDEX jobs_claimable ON {s}.jobs(queue, priority DESC, run_at, id) WHERE state IN (0, 1, 4);
        CREATE INDEX jobs_state ON {s}.jobs(state, id);
        CREATE TABLE {s}.job_attempts(
          id bigserial PRIMARY KEY,
          job_id bigint NOT NULL,
          attempt integer NOT NULL,
          outcome text NOT NULL,
          started_at timestamptz,
          finished_at timestamptz NOT NULL,
          error_type text,
          error_message text,
          error_stack text);
        CREATE INDEX job_attempts_job ON {s}.job_attempts(job_id);
        """,

        // Version 2: recurring schedules (docs/jobs/schedules.md), one self-contained step. A fire is a compare-and-set
        // on (name, version, next_tick); the partial index serves the scheduler's one read (due rows, earliest next tick).
        """
        CREATE TABLE {s}.schedules(
          name text PRIMARY KEY,
          spec text NOT NULL,
          from_code boolean NOT NULL,
          paused boolean NOT NULL DEFAULT false,
          orphaned boolean NOT NULL DEFAULT false,
          next_tick timestamptz,
          last_tick timestamptz,
          last_job_id bigint,
          version bigint NOT NULL DEFAULT 1);
        CREATE INDEX schedules_due ON {s}.schedules(next_tick) WHERE NOT paused AND NOT orphaned AND next_tick IS NOT NULL;
        """,
    ];

    /// <summary>The steps from <paramref name="from"/> (exclusive) to <see cref="Version"/>, for a schema.</summary>
    public static IEnumerable<string> From(long from, string schema)
    {
        for (var v = from; v < Version; v++)
        {
            yield return Steps[v].Replace("{s}", schema, StringComparison.Ordinal);
        }
    }
}
