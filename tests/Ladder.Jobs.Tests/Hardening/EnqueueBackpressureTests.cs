using Ladder.Jobs.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Tests.Hardening;

/// <summary>Enqueues waiting for the writer are bounded: a producer past the bound waits (cancellably) before it is queued.</summary>
public sealed class EnqueueBackpressureTests : TempFolderTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Enqueue_PastMaxPendingEnqueues_WaitsForRoomAndACancelledWaitQueuesNothing(CancellationToken ct)
    {
        await using var queue = JobQueue.Open(TestOptions.For(Folder.File("jobs.db"), o => o.MaxPendingEnqueues = 1));
        Task<EnqueueResult> first;
        Task<EnqueueResult> second;
        using var cancelSecond = CancellationTokenSource.CreateLinkedTokenSource(ct);

        // Another connection holds the write lock: the writer cannot commit, so the first enqueue stays pending.
        await using (var blocker = new SqliteConnection($"Data Source={queue.Options.Path};Pooling=false"))
        {
            blocker.Open();
            using (var begin = blocker.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE;";
                begin.ExecuteNonQuery();
            }

            first = queue.EnqueueAsync(new Echo(1), cancellationToken: ct);
            second = queue.EnqueueAsync(new Echo(2), cancellationToken: cancelSecond.Token);
            await cancelSecond.CancelAsync();
            await FluentActions.Awaiting(() => second).Should().ThrowAsync<OperationCanceledException>();

            using var rollback = blocker.CreateCommand();
            rollback.CommandText = "ROLLBACK;";
            rollback.ExecuteNonQuery();
        }

        await first.WaitAsync(ct);
        var third = await queue.EnqueueAsync(new Echo(3), cancellationToken: ct);

        third.Inserted.Should().BeTrue("room is back once the pending enqueue committed");
        (await queue.GetTotalsAsync(cancellationToken: ct))[JobState.Ready].Should().Be(2, "the cancelled enqueue never reached the writer");
    }

    [Test]
    public void Options_MaxPendingEnqueuesOutOfRange_FailsValidation()
    {
        new LadderJobsOptions { Path = "jobs.db", MaxPendingEnqueues = 0 }.Validate().Should().Contain(f => f.StartsWith("MaxPendingEnqueues", StringComparison.Ordinal));
    }
}
