using Ladder.Jobs.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Tests.Storage;

/// <summary>
/// Which commits are flushed: with <see cref="SynchronousMode.Full"/>, a batch holding an enqueue or an outcome commits
/// at synchronous=FULL, a batch holding only claims or heartbeats at NORMAL (docs/jobs/guarantees.md).
/// </summary>
public sealed class WriterDurabilityTests : TempFolderTests
{
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private JobQueue Open(SynchronousMode mode) =>
        JobQueue.Open(TestOptions.For(Folder.File("jobs.db"), o => o.Synchronous = mode), _time);

    [Test]
    [CancelAfter(60_000)]
    public async Task Full_ClaimsAndHeartbeatsCommitUnflushed_EnqueuesAndOutcomesCommitFlushed()
    {
        await using var queue = Open(SynchronousMode.Full);

        // Each step is awaited before the next is queued, so each is a batch of its own.
        (await FlushedAsync(queue, () => queue.EnqueueAsync(new Echo(1)))).Should().BeTrue("an acknowledged enqueue must survive a power loss");
        ClaimBatch claimed = null!;
        (await FlushedAsync(queue, async () => claimed = await queue.ClaimAsync("default", 1))).Should().BeFalse("a lost claim only makes the job ready again");
        var job = claimed.Jobs.Should().ContainSingle().Subject;
        (await FlushedAsync(queue, () => queue.HeartbeatAsync([job]))).Should().BeFalse("a lost heartbeat only shortens a lease");
        (await FlushedAsync(queue, () => queue.CompleteAsync(job))).Should().BeTrue("a completion releases the lease");

        await queue.EnqueueAsync(new Echo(2));
        var second = (await queue.ClaimAsync("default", 1)).Jobs.Single();
        (await FlushedAsync(queue, () => queue.FailAsync(second, new InvalidOperationException("boom"), permanent: true))).Should().BeTrue("a dead-letter is an outcome");
        await queue.EnqueueAsync(new Echo(3));
        var third = (await queue.ClaimAsync("default", 1)).Jobs.Single();
        (await FlushedAsync(queue, () => queue.GiveBackAsync(third))).Should().BeTrue("a give-back is an outcome");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Normal_NoCommitIsFlushed()
    {
        await using var queue = Open(SynchronousMode.Normal);

        (await FlushedAsync(queue, () => queue.EnqueueAsync(new Echo(1)))).Should().BeFalse();
        var job = (await queue.ClaimAsync("default", 1)).Jobs.Single();
        (await FlushedAsync(queue, () => queue.CompleteAsync(job))).Should().BeFalse();
    }

    [TestCase(SynchronousMode.Full, true, 2L)]
    [TestCase(SynchronousMode.Full, false, 1L)]
    [TestCase(SynchronousMode.Normal, true, 1L)]
    [TestCase(SynchronousMode.Normal, false, 1L)]
    [CancelAfter(60_000)]
    public async Task TheWriterConnection_RunsEachBatchAtItsLevel(SynchronousMode mode, bool durable, long expected)
    {
        await using var queue = Open(mode);

        // Read inside the batch itself: the level is set before BEGIN and is what its COMMIT uses.
        var actual = await queue.Sqlite.ReadWriterPragmaAsync("synchronous", durable);

        actual.Should().Be(expected);
    }

    private static async Task<bool> FlushedAsync(JobQueue queue, Func<Task> step)
    {
        var before = queue.WriterStats;
        await step();
        var after = queue.WriterStats;
        (after.Batches - before.Batches).Should().Be(1, "each step commits alone");
        return after.Flushed - before.Flushed == 1;
    }
}
