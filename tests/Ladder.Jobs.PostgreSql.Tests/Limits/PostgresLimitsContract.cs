using Ladder.Jobs.Limits;
using Ladder.Jobs.Storage;

namespace Ladder.Jobs.PostgreSql.Tests.Limits;

/// <summary>The limits contract on PostgreSQL: a fresh schema per store in context-clock mode (the fake clock drives windows and leases); a sibling shares the schema.</summary>
public sealed class PostgresLimitsContract : LimitsContract
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    protected override Task<JobStore> CreateStoreAsync() => Task.FromResult<JobStore>(Store(Server.NewName("lim")));

    protected override Task<JobStore> CreateSiblingAsync(JobStore store) => Task.FromResult<JobStore>(Store(((PostgresJobStore)store).Schema));

    private PostgresJobStore Store(string schema) => new(_database, new PostgresJobStoreOptions { Schema = schema, UseContextClock = true });
}
