using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>Opens, checks and migrates the queue's SQLite file.</summary>
internal static class Schema
{
    /// <summary>The schema version this library writes (<c>PRAGMA user_version</c>).</summary>
    public const long Version = 5;

    /// <summary><c>PRAGMA application_id</c> of a Ladder.Jobs file: "LdJb".</summary>
    public const long ApplicationId = 0x4C644A62;

    private const int SqliteNotADatabase = 26;
    private const int SqliteCantOpen = 14;
    private const int SqliteReadOnly = 8;

    private static readonly string[] Migrations =
    [
        // Version 1. Times are Unix milliseconds (UTC). States: see JobState.
        """
        CREATE TABLE ladder_jobs(
          id INTEGER PRIMARY KEY,
          queue TEXT NOT NULL,
          kind TEXT NOT NULL,
          payload TEXT NOT NULL,
          state INTEGER NOT NULL,
          priority INTEGER NOT NULL DEFAULT 0,
          run_at INTEGER NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          max_attempts INTEGER NOT NULL,
          rescues INTEGER NOT NULL DEFAULT 0,
          timeout_ms INTEGER,
          unique_key TEXT,
          lease_token INTEGER,
          lease_expires_at INTEGER,
          created_at INTEGER NOT NULL,
          started_at INTEGER,
          finished_at INTEGER,
          last_error TEXT,
          trace_parent TEXT);
        CREATE UNIQUE INDEX ladder_jobs_unique ON ladder_jobs(kind, unique_key) WHERE unique_key IS NOT NULL;
        CREATE INDEX ladder_jobs_fetch ON ladder_jobs(queue, priority DESC, run_at, id) WHERE state IN (0, 1, 4);
        CREATE INDEX ladder_jobs_leases ON ladder_jobs(lease_expires_at) WHERE state = 2;
        CREATE INDEX ladder_jobs_state ON ladder_jobs(state, id);
        CREATE TABLE ladder_job_attempts(
          id INTEGER PRIMARY KEY,
          job_id INTEGER NOT NULL,
          attempt INTEGER NOT NULL,
          outcome TEXT NOT NULL,
          started_at INTEGER,
          finished_at INTEGER NOT NULL,
          error_type TEXT,
          error_message TEXT,
          error_stack TEXT);
        CREATE INDEX ladder_job_attempts_job ON ladder_job_attempts(job_id);
        """,

        // Version 2: whether the running lease's handler has started, so a job claimed ahead (prefetch) and never
        // started is not counted as a rescue. Rows running when the file is migrated count as started, as before.
        // The lease-expiry index goes: every claim, outcome and heartbeat had to maintain it, and the rescue finds
        // the few running jobs through ladder_jobs_state (state = 2) as quickly.
        """
        ALTER TABLE ladder_jobs ADD COLUMN handler_started INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE ladder_jobs ADD COLUMN rescues_unstarted INTEGER NOT NULL DEFAULT 0;
        DROP INDEX ladder_jobs_leases;
        """,

        // Version 3: recurring schedules (docs/jobs/schedules.md), one self-contained step. Times are Unix milliseconds.
        // A fire is a compare-and-set on (name, version, next_tick); the partial index serves the scheduler's one read
        // (the due rows and the earliest next tick), so idle schedules cost one index probe per read, not a scan.
        """
        CREATE TABLE ladder_schedules(
          name TEXT PRIMARY KEY,
          spec TEXT NOT NULL,
          from_code INTEGER NOT NULL,
          paused INTEGER NOT NULL DEFAULT 0,
          orphaned INTEGER NOT NULL DEFAULT 0,
          next_tick INTEGER,
          last_tick INTEGER,
          last_job_id INTEGER,
          version INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;
        CREATE INDEX ladder_schedules_due ON ladder_schedules(next_tick) WHERE paused = 0 AND orphaned = 0 AND next_tick IS NOT NULL;
        """,

        // Version 4: concurrency keys and rate limits (docs/jobs/concurrency.md), one self-contained step. A job's key and limit live on its row, so every
        // process reads the same limit. The plain claim index leaves keyed jobs out: a queue full of held-back keyed jobs
        // never slows the claim of its other jobs. Keyed jobs are found by key (one index seek per key in use), and a
        // key's running jobs are counted through a partial index over running keyed rows only.
        // Rate limits: one row per limit, and one row per start within the window (pruned by the store's upkeep).
        """
        ALTER TABLE ladder_jobs ADD COLUMN concurrency_key TEXT;
        ALTER TABLE ladder_jobs ADD COLUMN concurrency_limit INTEGER NOT NULL DEFAULT 0;
        DROP INDEX ladder_jobs_fetch;
        CREATE INDEX ladder_jobs_fetch ON ladder_jobs(queue, priority DESC, run_at, id) WHERE state IN (0, 1, 4) AND concurrency_key IS NULL;
        CREATE INDEX ladder_jobs_fetch_keyed ON ladder_jobs(queue, concurrency_key, priority DESC, run_at, id) WHERE state IN (0, 1, 4) AND concurrency_key IS NOT NULL;
        CREATE INDEX ladder_jobs_running_keys ON ladder_jobs(concurrency_key) WHERE state = 2 AND concurrency_key IS NOT NULL;
        CREATE TABLE ladder_rate_limits(
          scope INTEGER NOT NULL,
          name TEXT NOT NULL,
          max_starts INTEGER NOT NULL,
          window_ms INTEGER NOT NULL,
          PRIMARY KEY(scope, name));
        CREATE TABLE ladder_rate_starts(
          scope INTEGER NOT NULL,
          name TEXT NOT NULL,
          at INTEGER NOT NULL);
        CREATE INDEX ladder_rate_starts_at ON ladder_rate_starts(scope, name, at);
        """,

        // Version 5: a job id is never issued twice. Without AUTOINCREMENT a new row takes the largest rowid + 1, so a
        // purge (or retention) that deleted the newest jobs gave their ids to the next ones, and a caller that kept an
        // id (a record pointing at its job) pointed at somebody else's job. SQLite cannot add AUTOINCREMENT to a table,
        // so the table is rebuilt with the same columns, in the same order (RebuildJobs runs this step: foreign keys
        // off, the rename in legacy mode, and every index and trigger on the table, the library's and a shared file's
        // own, made again from their definitions in sqlite_master). The sequence starts past the largest id the file
        // still knows of: a job's, an attempt's or a schedule's last job. One pass over the jobs, once, inside the migration's transaction; the cost per
        // insert afterwards is one read and one write of sqlite_sequence's row per statement.
        """
        CREATE TABLE ladder_jobs_v5(
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          queue TEXT NOT NULL,
          kind TEXT NOT NULL,
          payload TEXT NOT NULL,
          state INTEGER NOT NULL,
          priority INTEGER NOT NULL DEFAULT 0,
          run_at INTEGER NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          max_attempts INTEGER NOT NULL,
          rescues INTEGER NOT NULL DEFAULT 0,
          timeout_ms INTEGER,
          unique_key TEXT,
          lease_token INTEGER,
          lease_expires_at INTEGER,
          created_at INTEGER NOT NULL,
          started_at INTEGER,
          finished_at INTEGER,
          last_error TEXT,
          trace_parent TEXT,
          handler_started INTEGER NOT NULL DEFAULT 1,
          rescues_unstarted INTEGER NOT NULL DEFAULT 0,
          concurrency_key TEXT,
          concurrency_limit INTEGER NOT NULL DEFAULT 0);
        INSERT INTO ladder_jobs_v5(id, queue, kind, payload, state, priority, run_at, attempts, max_attempts, rescues, timeout_ms,
          unique_key, lease_token, lease_expires_at, created_at, started_at, finished_at, last_error, trace_parent,
          handler_started, rescues_unstarted, concurrency_key, concurrency_limit)
        SELECT id, queue, kind, payload, state, priority, run_at, attempts, max_attempts, rescues, timeout_ms,
          unique_key, lease_token, lease_expires_at, created_at, started_at, finished_at, last_error, trace_parent,
          handler_started, rescues_unstarted, concurrency_key, concurrency_limit FROM ladder_jobs ORDER BY id;
        DROP TABLE ladder_jobs;
        ALTER TABLE ladder_jobs_v5 RENAME TO ladder_jobs;
        INSERT INTO sqlite_sequence(name, seq) SELECT 'ladder_jobs', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'ladder_jobs');
        UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT max(job_id) FROM ladder_job_attempts), 0), coalesce((SELECT max(last_job_id) FROM ladder_schedules), 0))
          WHERE name = 'ladder_jobs';
        """,
    ];

    /// <summary>The step of <see cref="Migrations"/> that rebuilds <c>ladder_jobs</c> (version 4 to 5).</summary>
    private const int RebuildStep = 4;

    public static string ConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = false,
        DefaultTimeout = 60,
    }.ToString();

    /// <summary>Opens a connection for the queue: checks the file, migrates it, sets WAL. Touches nothing on refusal.</summary>
    public static SqliteConnection Open(string path, bool shareExisting)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new JobStoreException(path, $"The directory of the job queue file does not exist: {directory}");
        }

        var connection = new SqliteConnection(ConnectionString(path));
        try
        {
            connection.Open();

            // One read transaction: application_id, user_version and the table count from one snapshot, so a
            // process that migrates the file meanwhile is never half-seen. Reads only: a refused file is untouched.
            Execute(connection, "BEGIN;");
            Check(connection, path, shareExisting);
            Execute(connection, "COMMIT;");
            Execute(connection, "PRAGMA busy_timeout = 5000;");

            // The writer's statement and savepoint journals (every page an operation changes is copied there first, so
            // the operation alone can roll back) in memory, not in a temporary file: an operation's pages are few, and
            // the file cost a write system call per page (about 150,000 for a burn-down of 50,000 jobs:
            // docs/benchmarks/jobs.md, "Concurrency keys"). They are never needed after a crash: the WAL alone recovers
            // the file.
            Execute(connection, "PRAGMA temp_store = MEMORY;");
            if (!string.Equals(Scalar<string>(connection, "PRAGMA journal_mode = WAL;"), "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new JobStoreException(path, "The job queue file could not be switched to WAL mode.");
            }

            Migrate(connection, path, shareExisting);
            return connection;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteNotADatabase)
        {
            connection.Dispose();
            throw new JobStoreIncompatibleException(path, $"Not a Ladder.Jobs database (not a SQLite file): {path}", null, e);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteCantOpen or SqliteReadOnly || e.SqliteExtendedErrorCode is 1032 or 3338)
        {
            connection.Dispose();
            throw new JobStoreException(path, $"The job queue file cannot be opened for writing (read-only file or directory?): {path}. {e.Message}", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static void Check(SqliteConnection connection, string path, bool shareExisting)
    {
        var applicationId = Scalar<long>(connection, "PRAGMA application_id;");
        var version = Scalar<long>(connection, "PRAGMA user_version;");
        if (applicationId == ApplicationId)
        {
            if (version > Version)
            {
                throw new JobStoreIncompatibleException(path, $"The job queue file has schema version {version}; this Ladder.Jobs knows up to {Version}. Upgrade the package to open it: {path}", version);
            }

            return;
        }

        if (applicationId != 0)
        {
            throw new JobStoreIncompatibleException(path, $"Not a Ladder.Jobs database (application_id 0x{applicationId:X}): {path}", version);
        }

        var tables = Scalar<long>(connection, "SELECT count(*) FROM sqlite_master;");
        if (tables > 0 && !shareExisting)
        {
            throw new JobStoreIncompatibleException(path, $"Not a Ladder.Jobs database (a SQLite file with {tables} other schema objects; set ShareExistingDatabase to keep the queue in it): {path}", version);
        }

        if (version != 0)
        {
            throw new JobStoreIncompatibleException(path, $"Not a Ladder.Jobs database (user_version {version} belongs to another schema): {path}", version);
        }
    }

    private static void Migrate(SqliteConnection connection, string path, bool shareExisting)
    {
        // Foreign keys off while migrating (the bundled SQLite turns them on): the rebuild drops the jobs table, and a
        // shared file's own table that references it would have its rows deleted or nulled by the drop, or the drop
        // refused. The pragma does nothing inside a transaction, so it is set around it; foreign_key_check, before the
        // commit, says whether the rebuilt table still satisfies every reference.
        // Only when there is something to migrate (versions only rise, so a file read as current stays current): an open
        // of a current file changes no setting.
        var suspendForeignKeys = Scalar<long>(connection, "PRAGMA user_version;") < Version && Scalar<long>(connection, "PRAGMA foreign_keys;") != 0;
        if (suspendForeignKeys)
        {
            Execute(connection, "PRAGMA foreign_keys = OFF;");
        }

        try
        {
            // BEGIN IMMEDIATE: two processes opening a new file at once migrate it once; the second re-reads the version.
            Execute(connection, "BEGIN IMMEDIATE;");
            try
            {
                Check(connection, path, shareExisting);
                var version = Scalar<long>(connection, "PRAGMA user_version;");
                for (var v = version; v < Version; v++)
                {
                    if (v == RebuildStep)
                    {
                        RebuildJobs(connection);
                    }
                    else
                    {
                        Execute(connection, Migrations[v]);
                    }
                }

                if (version < Version)
                {
                    if (suspendForeignKeys && Scalar<long>(connection, "SELECT count(*) FROM pragma_foreign_key_check;") > 0)
                    {
                        throw new JobStoreException(path, $"Migrating the job queue file to schema version {Version} would break a foreign key of another table in it (PRAGMA foreign_key_check); the file is unchanged: {path}");
                    }

                    Execute(connection, $"PRAGMA application_id = {ApplicationId}; PRAGMA user_version = {Version};");
                }

                Execute(connection, "COMMIT;");
            }
            catch
            {
                Execute(connection, "ROLLBACK;");
                throw;
            }
        }
        finally
        {
            if (suspendForeignKeys)
            {
                Execute(connection, "PRAGMA foreign_keys = ON;");
            }
        }
    }

    /// <summary>
    /// Version 4 to 5: the jobs table rebuilt with AUTOINCREMENT. Its indexes and triggers (the library's, and in a
    /// shared file the user's own) go with the old table, so their definitions are read first and run again on the new
    /// one; the rename runs in legacy mode, which does not re-check every view and trigger of the file (a view of the
    /// user's on ladder_jobs would fail that check while the table is away, and keeps working once the new table has
    /// its name).
    /// </summary>
    private static void RebuildJobs(SqliteConnection connection)
    {
        var definitions = new List<string>();
        using (var command = connection.CreateCommand())
        {
            // Indexes before triggers ('index' < 'trigger'); an index SQLite made for a constraint has no sql.
            command.CommandText = "SELECT sql FROM sqlite_master WHERE tbl_name = 'ladder_jobs' AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                definitions.Add(reader.GetString(0));
            }
        }

        var legacy = Scalar<long>(connection, "PRAGMA legacy_alter_table;") != 0;
        Execute(connection, "PRAGMA legacy_alter_table = ON;");
        try
        {
            Execute(connection, Migrations[RebuildStep]);
        }
        finally
        {
            if (!legacy)
            {
                Execute(connection, "PRAGMA legacy_alter_table = OFF;");
            }
        }

        foreach (var sql in definitions)
        {
            Execute(connection, sql);
        }
    }

    internal static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    internal static T Scalar<T>(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType(command.ExecuteScalar()!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }
}
