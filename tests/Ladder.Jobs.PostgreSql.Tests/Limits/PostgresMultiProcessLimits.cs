using Ladder.Jobs.Limits;

namespace Ladder.Jobs.PostgreSql.Tests.Limits;

/// <summary>The multi-process limits test on one PostgreSQL schema (the database clock: no context clock).</summary>
public sealed class PostgresMultiProcessLimits : MultiProcessLimits
{
    private string _database = "";
    private string _schema = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [SetUp]
    public void NewSchema() => _schema = Server.NewName("mp");

    protected override IReadOnlyList<string> StoreArguments => ["--postgres", _database, "--schema", _schema];

    protected override async Task<JobQueue> OpenQueueAsync() =>
        await JobQueue.OpenAsync(new PostgresJobStore(_database, new PostgresJobStoreOptions { Schema = _schema }), new LadderJobsOptions());
}
