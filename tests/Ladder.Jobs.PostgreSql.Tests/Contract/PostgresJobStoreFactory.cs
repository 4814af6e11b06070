using Ladder.Jobs.Storage;
using Ladder.Jobs.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Tests.Contract;

/// <summary>
/// The contract suite's PostgreSQL stores: a fresh schema per store (siblings share it) in one database of the
/// assembly's server, in the tests' context-clock mode, so the suite's fake clocks drive leases, retries and retention.
/// </summary>
internal sealed class PostgresJobStoreFactory : JobStoreFactory
{
    private static readonly SemaphoreSlim DatabaseGate = new(1);
    private static string? _database;
    private readonly Dictionary<JobStore, string> _schemas = [];
    private readonly List<string> _created = [];

    public override string Name => "PostgreSQL";

    public override async Task<JobStore> CreateAsync(TimeProvider time)
    {
        var schema = Server.NewName("c");
        _created.Add(schema);
        return await CreateStoreAsync(schema);
    }

    public override async Task<JobStore> CreateSiblingAsync(JobStore store, TimeProvider time) => await CreateStoreAsync(_schemas[store]);

    public override async Task<CallerTransaction> BeginEnlistmentAsync(JobQueue queue)
    {
        var schema = SchemaOf(queue);
        var connection = new NpgsqlConnection(await DatabaseAsync());
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand($"CREATE TABLE IF NOT EXISTS {schema}.caller_rows(key text PRIMARY KEY)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        var transaction = await connection.BeginTransactionAsync();
        return new Transaction(connection, transaction, queue.Enlist(transaction), schema);
    }

    public override async Task<bool> CallerRowExistsAsync(JobQueue queue, string key)
    {
        await using var connection = new NpgsqlConnection(await DatabaseAsync());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT to_regclass('{SchemaOf(queue)}.caller_rows') IS NOT NULL AND EXISTS (SELECT 1 FROM {SchemaOf(queue)}.caller_rows WHERE key = $1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        return await command.ExecuteScalarAsync() is true;
    }

    public override async ValueTask DisposeAsync()
    {
        // The stores belong to their queues (disposed by the tests); the schemas go with the factory.
        if (_created.Count > 0 && _database is not null)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_database);
                await connection.OpenAsync();
                await using var drop = new NpgsqlCommand(string.Join(';', _created.Select(s => $"DROP SCHEMA IF EXISTS {s} CASCADE")), connection);
                await drop.ExecuteNonQueryAsync();
            }
            catch (NpgsqlException)
            {
                // A test stopped the server or a store still holds a lock: the database goes with the server.
            }
        }

        await base.DisposeAsync();
    }

    private async Task<JobStore> CreateStoreAsync(string schema)
    {
        var store = new PostgresJobStore(await DatabaseAsync(), new PostgresJobStoreOptions { Schema = schema, UseContextClock = true });
        _schemas[store] = schema;
        return store;
    }

    private static string SchemaOf(JobQueue queue) => ((PostgresJobStore)queue.Store).Schema;

    private static async Task<string> DatabaseAsync()
    {
        await DatabaseGate.WaitAsync();
        try
        {
            return _database ??= await Server.NewDatabaseAsync();
        }
        finally
        {
            DatabaseGate.Release();
        }
    }

    private sealed class Transaction(NpgsqlConnection connection, NpgsqlTransaction transaction, JobTransaction jobs, string schema) : CallerTransaction
    {
        public override JobTransaction Jobs => jobs;

        public override async Task WriteAsync(string key)
        {
            await using var command = new NpgsqlCommand($"INSERT INTO {schema}.caller_rows(key) VALUES ($1)", connection, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = key });
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
