using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Ladder.Sample.Domain;

/// <summary>
/// The ladder's tables, in the same database as the job queue, so that storing a replay and enqueuing its parse job
/// can commit in one transaction: a SQLite file by default, or a PostgreSQL database shared by every host of a cluster
/// (<see cref="ForPostgres"/>). Versioned by its own table (the SQLite queue owns <c>PRAGMA user_version</c>).
/// </summary>
/// <remarks>
/// The SQL is written once with <c>@name</c> parameters, which both engines read; the few places where the dialects
/// differ (case-insensitive names, arrays, the replay order, the result lock) are <see cref="LadderDialect"/>'s.
/// </remarks>
internal sealed partial class LadderDatabase
{
    private const int SchemaVersion = 1;

    private readonly string? _sqliteConnectionString;
    private readonly NpgsqlDataSource? _postgres;

    /// <summary>The ladder in a SQLite file at <paramref name="path"/>.</summary>
    public LadderDatabase(string path, TimeProvider timeProvider)
    {
        _sqliteConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        Location = path;
        TimeProvider = timeProvider;
        Dialect = LadderDialect.Sqlite;
    }

    private LadderDatabase(NpgsqlDataSource dataSource, TimeProvider timeProvider)
    {
        _postgres = dataSource;
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Location = $"PostgreSQL {settings.Host}:{settings.Port}/{settings.Database}";
        TimeProvider = timeProvider;
        Dialect = LadderDialect.Postgres;
    }

    /// <summary>The ladder in the PostgreSQL database of <paramref name="dataSource"/> (which the caller owns).</summary>
    public static LadderDatabase ForPostgres(NpgsqlDataSource dataSource, TimeProvider timeProvider) => new(dataSource, timeProvider);

    /// <summary>The SQLite file, or "PostgreSQL host:port/database": for the start-up line and the page.</summary>
    public string Location { get; }

    public TimeProvider TimeProvider { get; }

    internal LadderDialect Dialect { get; }

    public bool IsPostgres => _postgres is not null;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken);
        }

        var connection = new SqliteConnection(_sqliteConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A transaction whose reads all come from one snapshot (a count and its page agree): SQLite's deferred
    /// transaction, PostgreSQL's repeatable read.
    /// </summary>
    internal static async Task<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken)
        => connection is SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: true)
            : await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);

    /// <summary>Creates the ladder's tables if they are missing. Safe to call on every start, from several hosts at once.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        if (!IsPostgres)
        {
            await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellationToken);
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (IsPostgres)
        {
            // Hosts of a cluster start at once: one creates the tables, the others wait here and find them.
            await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(7331001);", cancellationToken);
        }

        await ExecuteAsync(connection, transaction, IsPostgres ? PostgresSchema : SqliteSchema, cancellationToken);

        await using (var read = Command(connection, transaction, "SELECT max(version) FROM ladder_schema;"))
        {
            var found = await read.ExecuteScalarAsync(cancellationToken);
            if (found is not (null or DBNull) && Convert.ToInt64(found, System.Globalization.CultureInfo.InvariantCulture) is var version
                && version > SchemaVersion)
            {
                throw new InvalidOperationException(
                    $"The ladder database {Location} has schema version {version}; this build knows {SchemaVersion}. Use a newer build.");
            }

            if (found is null or DBNull)
            {
                await ExecuteAsync(connection, transaction, $"INSERT INTO ladder_schema (version) VALUES ({SchemaVersion});", cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    internal string Now() => TimeProvider.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    /// <summary>Adds <c>@name</c>; a null is sent as a typed null (PostgreSQL must know a parameter's type to compare it).</summary>
    internal static void Add(DbCommand command, string name, object? value, DbType nullType = DbType.String)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        if (value is null or DBNull)
        {
            parameter.DbType = nullType;
            parameter.Value = DBNull.Value;
        }
        else
        {
            parameter.Value = value;
        }

        command.Parameters.Add(parameter);
    }

    internal static async Task ExecuteAsync(
        DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A unique index refused the write (a taken name): SQLite's constraint error, PostgreSQL's 23505.</summary>
    internal static bool IsUniqueViolation(DbException e)
        => e is SqliteException { SqliteErrorCode: 19 } or PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
}
