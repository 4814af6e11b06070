using Ladder.Jobs.Tests.Support;
using Microsoft.Data.Sqlite;
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
    [Test]
    [CancelAfter(60_000)]
    public async Task Purge_WithNothingOldEnough_NeverWaitsForTheWriter(CancellationToken ct)
    {
        // The search for a batch reads every finished row of the state when none is old enough (no index holds
        // finished_at); it ran on the writer, holding every enqueue and outcome behind it at each retention pass.
        await using var queue = Open();
        await FinishAsync(queue, 300);
        _time.Advance(TimeSpan.FromMinutes(30));

        await using var blocker = HoldTheWriteLock(queue);
        var purge = queue.PurgeAsync(JobState.Succeeded, TimeSpan.FromHours(1), ct);
        // Bounded only so that the old behaviour fails instead of hanging: it waited here until the lock was let go.
        var deleted = await purge.WaitAsync(TimeSpan.FromSeconds(30), ct);

        deleted.Should().Be(0, "nothing finished an hour ago");
        Release(blocker);
        (await queue.GetTotalsAsync(cancellationToken: ct))[JobState.Succeeded].Should().Be(300);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Purge_KeepsACandidateRetriedBeforeTheWriterDeletesIt(CancellationToken ct)
    {
        await using var queue = Open();
        await FinishAsync(queue, 3);
        var dead = (await queue.EnqueueAsync(new Echo(-1), new JobOptions { Queue = "other" }, ct)).JobId;
        await queue.FailAsync((await queue.ClaimAsync("other", 1)).Jobs.Single(), new InvalidOperationException("x"), permanent: true);
        _time.Advance(TimeSpan.FromHours(2));

        // The purge reads its candidates (the dead job among them), then waits for the writer; meanwhile another
        // connection takes the job back to ready, as a retry does, and commits.
        var blocker = HoldTheWriteLock(queue);
        var purge = queue.PurgeAsync(JobState.Dead, TimeSpan.FromHours(1), ct);
        using (var retry = blocker.CreateCommand())
        {
            retry.CommandText = "UPDATE ladder_jobs SET state = 1, finished_at = NULL WHERE id = $id;";
            retry.Parameters.AddWithValue("$id", dead);
            retry.ExecuteNonQuery();
        }

        using (var commit = blocker.CreateCommand())
        {
            commit.CommandText = "COMMIT;";
            commit.ExecuteNonQuery();
        }

        await blocker.DisposeAsync();

        (await purge).Should().Be(0, "the job is no longer dead when the writer deletes");
        (await queue.GetJobAsync(dead, ct)).Should().NotBeNull();
        (await queue.PurgeAsync(JobState.Succeeded, TimeSpan.FromHours(1), ct)).Should().Be(3);
    }

    private static async Task FinishAsync(JobQueue queue, int count)
    {
        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, count).Select(i => JobRequest.For(new Echo(i)))]);
        while ((await queue.ClaimAsync("default", 100)).Jobs is { Count: > 0 } jobs)
        {
            foreach (var job in jobs)
            {
                await queue.CompleteAsync(job);
            }
        }
    }

    private static SqliteConnection HoldTheWriteLock(JobQueue queue)
    {
        var blocker = new SqliteConnection($"Data Source={queue.Options.Path};Pooling=false");
        blocker.Open();
        using var begin = blocker.CreateCommand();
        begin.CommandText = "BEGIN IMMEDIATE;";
        begin.ExecuteNonQuery();
        return blocker;
    }

    private static void Release(SqliteConnection blocker)
    {
        using var rollback = blocker.CreateCommand();
        rollback.CommandText = "ROLLBACK;";
        rollback.ExecuteNonQuery();
    }
}
