using Ladder.Jobs.Storage.Sqlite;
using Ladder.Jobs.Testing;
using Ladder.Jobs.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Tests.Contract;

/// <summary>The contract suite's SQLite stores: a fresh file per store (siblings share it) in a temp folder per test.</summary>
internal sealed class SqliteJobStoreFactory : JobStoreFactory
{
    private readonly TempFolder _folder = new();
    private int _files;

    public override string Name => "SQLite";

    public override Task<JobStore> CreateAsync(TimeProvider time) =>
        Task.FromResult<JobStore>(new SqliteJobStore(_folder.File($"jobs{Interlocked.Increment(ref _files)}.db")));

    public override Task<JobStore> CreateSiblingAsync(JobStore store, TimeProvider time) =>
        Task.FromResult<JobStore>(new SqliteJobStore(((SqliteJobStore)store).FullPath));

    public override async Task<CallerTransaction> BeginEnlistmentAsync(JobQueue queue)
    {
        var connection = new SqliteConnection($"Data Source={PathOf(queue)};Pooling=false");
        await connection.OpenAsync();
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS caller_rows(key TEXT PRIMARY KEY);";
            await create.ExecuteNonQueryAsync();
        }

        var transaction = connection.BeginTransaction();
        return new Transaction(connection, transaction, queue.Enlist(transaction));
    }

    public override async Task<bool> CallerRowExistsAsync(JobQueue queue, string key)
    {
        await using var connection = new SqliteConnection($"Data Source={PathOf(queue)};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'caller_rows') AND EXISTS (SELECT 1 FROM caller_rows WHERE key = $key);";
        command.Parameters.AddWithValue("$key", key);
        try
        {
            return await command.ExecuteScalarAsync() is 1L;
        }
        catch (SqliteException)
        {
            // No table yet: SQLite resolves both names when it prepares the statement.
            return false;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        // The stores belong to their queues (disposed by the tests); the files go with the factory.
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
        await base.DisposeAsync();
    }

    private static string PathOf(JobQueue queue) => ((SqliteJobStore)queue.Store).FullPath;

    private sealed class Transaction(SqliteConnection connection, SqliteTransaction transaction, JobTransaction jobs) : CallerTransaction
    {
        public override JobTransaction Jobs => jobs;

        public override async Task WriteAsync(string key)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO caller_rows(key) VALUES ($key);";
            command.Parameters.AddWithValue("$key", key);
            await command.ExecuteNonQueryAsync();
        }

        public override Task RollbackAsync() => transaction.RollbackAsync();

        public override async ValueTask DisposeAsync()
        {
            jobs.Dispose();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
