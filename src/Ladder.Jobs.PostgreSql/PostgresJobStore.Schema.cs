using System.Net.Sockets;
using Ladder.Jobs.PostgreSql.Internal;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs;

/// <summary>Creating and migrating the schema on open; what a failure to connect means.</summary>
public sealed partial class PostgresJobStore
{
    private static readonly TimeSpan FirstOpenRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxOpenRetryDelay = TimeSpan.FromSeconds(5);

    // A host started while its server is down or restarting (a fleet restarted with its database) waits for it, with
    // backoff and a bound (OpenRetryLimit), instead of crashing at start-up; never a hot loop. Only "unreachable" is
    // waited for: a wrong password or a missing database does not heal by waiting.
    private async Task MigrateRetryingAsync(CancellationToken cancellationToken)
    {
        // Real time, as the write retries: the server comes back in real time, whatever the queue's clock says.
        var started = TimeProvider.System.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await MigrateAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PostgresJobStoreException e) when (e.Problem == PostgresJobStoreProblem.Unreachable && !cancellationToken.IsCancellationRequested)
            {
                var delay = TimeSpan.FromTicks(Math.Min(MaxOpenRetryDelay.Ticks, FirstOpenRetryDelay.Ticks << Math.Min(attempt - 1, 10)));
                var left = _options.OpenRetryLimit - TimeProvider.System.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    throw;
                }

                delay = delay < left ? delay : left;
                Log.OpenRetrying(_logger, e, Location, delay, attempt, _options.OpenRetryLimit);

                // Idle connections of the pool died with the server: drop them rather than fail on each in turn.
                _dataSource.Clear();
                await Task.Delay(delay, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        NpgsqlConnection connection;
        try
        {
            connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
        {
            // One attempt here: MigrateRetryingAsync waits for an unreachable server only as long as OpenRetryLimit says.
            throw Classify(e, "open the job store");
        }

        await using (connection.ConfigureAwait(false))
        {
            try
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

                // One transaction under one advisory lock per schema: hosts opening at once migrate it once; the others
                // wait here and then find it current. Released by the commit or rollback, never left held.
                await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
                {
                    lockCommand.Parameters.Add(P("key", LockKey(_options.Schema), NpgsqlDbType.Bigint));
                    await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                var (schemaExists, versionTable, jobsTable) = await ReadShapeAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                long version = 0;
                if (versionTable)
                {
                    // Before the first read: a role an owner prepared the schema for learns every missing grant at once.
                    await CheckPrivilegesAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                    await using var read = new NpgsqlCommand($"SELECT max(version) FROM {_options.Schema}.schema_version", connection, transaction);
                    version = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long v ? v : 0;
                }
                else if (jobsTable)
                {
                    throw new JobStoreIncompatibleException(Location, $"The schema {_options.Schema} holds a 'jobs' table that is not Ladder.Jobs' (no schema_version table): choose another PostgresJobStoreOptions.Schema. Nothing was changed.", null);
                }

                if (version > Migrations.Version)
                {
                    // Refused untouched: the transaction only read, and is rolled back.
                    throw new JobStoreIncompatibleException(Location, $"The job store {Location} has schema version {version}; this Ladder.Jobs.PostgreSql knows up to {Migrations.Version}. Upgrade the package to open it. Nothing was changed.", version);
                }

                if (version < Migrations.Version)
                {
                    var ddl = new List<string>();
                    if (!schemaExists)
                    {
                        // Checked first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists.
                        ddl.Add($"CREATE SCHEMA {_options.Schema}");
                    }

                    if (!versionTable)
                    {
                        ddl.Add($"CREATE TABLE {_options.Schema}.schema_version(version bigint NOT NULL)");
                    }

                    ddl.AddRange(Migrations.From(version, _options.Schema));
                    ddl.Add($"DELETE FROM {_options.Schema}.schema_version");
                    ddl.Add($"INSERT INTO {_options.Schema}.schema_version(version) VALUES ({Migrations.Version})");
                    foreach (var statement in ddl)
                    {
                        await using var command = new NpgsqlCommand(statement, connection, transaction);
                        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                if (version < Migrations.Version)
                {
                    Log.Migrated(_logger, Location, version, Migrations.Version);
                }
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                throw new PostgresJobStoreException(Location, PostgresJobStoreProblem.PermissionDenied, e.SqlState,
                    $"The database user may not create or use the job store's schema {_options.Schema} ({e.MessageText}): grant it CREATE on the database " +
                    $"(or create the schema for it and grant USAGE and CREATE on it), or let an owner open the store once. {Location}", e);
            }
            catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
            {
                throw Classify(e, "migrate the job store");
            }
        }
    }

    private async Task<(bool Schema, bool VersionTable, bool JobsTable)> ReadShapeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            // The catalogs, not to_regclass: that needs USAGE on the schema, and a user without it is told so by CheckPrivilegesAsync.
            """
            SELECT n.oid IS NOT NULL,
              EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'schema_version'),
              EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'jobs')
            FROM (SELECT (SELECT oid FROM pg_namespace WHERE nspname = @schema) AS oid) n
            """,
            connection, transaction);
        command.Parameters.Add(P("schema", _options.Schema, NpgsqlDbType.Text));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (reader.GetBoolean(0), reader.GetBoolean(1), reader.GetBoolean(2));
    }

    // A stable key per schema (FNV-1a of the name): two stores in different schemas never wait for each other.
    private static long LockKey(string schema)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in "ladder_jobs.migrate:" + schema)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return unchecked((long)hash);
    }

    /// <summary>A store error naming what is wrong, for an error of the server or of the connection.</summary>
    internal PostgresJobStoreException Classify(Exception e, string what)
    {
        var state = (e as PostgresException)?.SqlState;
        var (problem, hint) = state switch
        {
            PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification =>
                (PostgresJobStoreProblem.AuthenticationFailed, "the server refused the user name or password: check Username and Password in the connection string"),
            PostgresErrorCodes.InvalidCatalogName => (PostgresJobStoreProblem.DatabaseMissing, $"the database '{Database}' does not exist: create it, or fix Database in the connection string"),
            PostgresErrorCodes.InsufficientPrivilege => (PostgresJobStoreProblem.PermissionDenied, "the database user lacks a privilege on the job store's schema or tables"),
            PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown =>
                (PostgresJobStoreProblem.Unreachable, "the server is starting, stopping or full"),
            null when IsConnectionFailure(e) => (PostgresJobStoreProblem.Unreachable, $"the server at {Host}:{Port} cannot be reached (down, or a wrong Host or Port)"),
            _ => (PostgresJobStoreProblem.Other, "see the inner exception"),
        };
        return new PostgresJobStoreException(Location, problem, state, $"Could not {what} {Location}: {hint}. {e.Message}", e);
    }

    private static bool IsConnectionFailure(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException or IOException or TimeoutException || inner is NpgsqlException { IsTransient: true })
            {
                return true;
            }
        }

        return false;
    }
}
