using Ladder.Jobs.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Tests;

/// <summary>The SQLite store's upkeep (inspection on every store is the contract suite's InspectionContract and JobQueryContract).</summary>
public sealed class InspectionTests : TempFolderTests
{
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private JobQueue Open(Action<LadderJobsOptions>? configure = null) => JobQueue.Open(TestOptions.For(Folder.File("jobs.db"), configure), _time);

    [Test]
    [CancelAfter(60_000)]
    public async Task Checkpoint_TruncatesTheWal(CancellationToken ct)
    {
        var path = Folder.File("jobs.db");
        await using var queue = Open();
        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 500).Select(i => JobRequest.For(new Echo(i)))], ct);
        new FileInfo(path + "-wal").Length.Should().BeGreaterThan(0);

        (await queue.CheckpointAsync(ct)).Should().BeTrue();

        new FileInfo(path + "-wal").Length.Should().Be(0);
    }
}
