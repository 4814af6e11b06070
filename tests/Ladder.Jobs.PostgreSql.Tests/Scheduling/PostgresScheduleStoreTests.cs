using Ladder.Jobs.Storage;
using Ladder.Jobs.Testing;

namespace Ladder.Jobs.PostgreSql.Tests.Scheduling;

/// <summary>The schedule rows' store contract on PostgreSQL: the shared store is one schema, each store its own data source.</summary>
public sealed class PostgresScheduleStoreTests : ScheduleStoreScenarios
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    protected override string NewSharedStore() => Server.NewName("sched");

    protected override JobStore OpenStore(string database) => new PostgresJobStore(_database, new PostgresJobStoreOptions { Schema = database });
}
