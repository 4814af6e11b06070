using Ladder.Jobs.Storage.Sqlite;
using Ladder.Jobs.Testing;
using Ladder.Jobs.Tests.Support;

namespace Ladder.Jobs.Tests.Scheduling;

/// <summary>The schedule rows' store contract on SQLite: the shared store is one file, each store its own connections.</summary>
public sealed class SqliteScheduleStoreTests : ScheduleStoreScenarios
{
    private TempFolder _folder = null!;
    private int _files;

    [OneTimeSetUp]
    public void CreateFolder() => _folder = new TempFolder();

    [OneTimeTearDown]
    public void DeleteFolder() => _folder.Dispose();

    protected override string NewSharedStore() => _folder.File($"schedules-{Interlocked.Increment(ref _files)}.db");

    protected override JobStore OpenStore(string database) => new SqliteJobStore(database, SynchronousMode.Normal);
}
