using Microsoft.Data.Sqlite;

namespace Ladder.Sample.Domain;

/// <summary>
/// The ladder's tables, in the same SQLite file as the job queue, so that storing a replay and enqueuing its parse
/// job can commit in one transaction. Versioned by its own table (the queue owns <c>PRAGMA user_version</c>).
/// </summary>
internal sealed partial class LadderDatabase(string path, TimeProvider timeProvider)
{
    private const int SchemaVersion = 1;

    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        ForeignKeys = true,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    public string Path { get; } = path;

    public TimeProvider TimeProvider { get; } = timeProvider;

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
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

    /// <summary>Creates the ladder's tables if they are missing. Safe to call on every start.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, """
            CREATE TABLE IF NOT EXISTS ladder_schema (version INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS players (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                country TEXT NOT NULL,
                preferences TEXT NOT NULL,
                created_at TEXT NOT NULL);
            CREATE UNIQUE INDEX IF NOT EXISTS players_by_name ON players (name COLLATE NOCASE);
            CREATE TABLE IF NOT EXISTS ratings (
                player_id INTEGER NOT NULL REFERENCES players (id),
                race TEXT NOT NULL,
                rating INTEGER NOT NULL,
                games INTEGER NOT NULL,
                wins INTEGER NOT NULL,
                losses INTEGER NOT NULL,
                PRIMARY KEY (player_id, race));
            CREATE INDEX IF NOT EXISTS ratings_by_rating ON ratings (rating DESC, games DESC, player_id);
            CREATE TABLE IF NOT EXISTS matches (
                id INTEGER PRIMARY KEY,
                player1_id INTEGER NOT NULL REFERENCES players (id),
                race1 TEXT NOT NULL,
                player2_id INTEGER NOT NULL REFERENCES players (id),
                race2 TEXT NOT NULL,
                map TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('created', 'completed', 'aborted')),
                winner_id INTEGER,
                change1 INTEGER,
                change2 INTEGER,
                source TEXT,
                replay_hash TEXT,
                created_at TEXT NOT NULL,
                completed_at TEXT);
            CREATE INDEX IF NOT EXISTS matches_by_player1 ON matches (player1_id, id DESC);
            CREATE INDEX IF NOT EXISTS matches_by_player2 ON matches (player2_id, id DESC);
            CREATE TABLE IF NOT EXISTS replays (
                hash TEXT PRIMARY KEY,
                match_id INTEGER NOT NULL REFERENCES matches (id),
                bytes BLOB NOT NULL,
                size INTEGER NOT NULL,
                job_id INTEGER,
                uploaded_at TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS replays_by_match ON replays (match_id);
            """, cancellationToken);

        await using (var read = Command(connection, transaction, "SELECT max(version) FROM ladder_schema;"))
        {
            var found = await read.ExecuteScalarAsync(cancellationToken);
            if (found is long version && version > SchemaVersion)
            {
                throw new InvalidOperationException(
                    $"The ladder database {Path} has schema version {version}; this build knows {SchemaVersion}. Use a newer build.");
            }

            if (found is null or DBNull)
            {
                await ExecuteAsync(connection, transaction, $"INSERT INTO ladder_schema (version) VALUES ({SchemaVersion});", cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    internal string Now() => TimeProvider.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    internal static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    internal static async Task ExecuteAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
