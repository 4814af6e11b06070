using Ladder.Jobs.Limits;
using Ladder.Jobs.Storage.Sqlite;
using Ladder.Jobs.Tests.Support;

namespace Ladder.Jobs.Tests.Storage;

/// <summary>The limits contract on SQLite: a fresh file per test; a sibling is another store (another writer) on the same file.</summary>
public sealed class SqliteLimitsContract : LimitsContract
{
    private TempFolder _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = new TempFolder();

    [TearDown]
    public void DeleteFolder() => _folder.Dispose();

    protected override Task<JobStore> CreateStoreAsync() => Task.FromResult<JobStore>(new SqliteJobStore(_folder.File($"jobs-{Guid.NewGuid():N}.db")));

    protected override Task<JobStore> CreateSiblingAsync(JobStore store) => Task.FromResult<JobStore>(new SqliteJobStore(((SqliteJobStore)store).FullPath));
}
