namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// Jobs enqueued in a caller's own transaction (enlisted by the store) commit or vanish with the caller's writes; a
/// commit wakes the processors at once, a rollback wakes nothing.
/// </summary>
public abstract class TransactionalEnqueueContract : JobStoreContract
{
    [Test]
    [CancelAfter(60_000)]
    public async Task TransactionalEnqueue_Committed_StoresTheJobAndTheCallersRow_AndRunsTheJobAtOnce(CancellationToken ct)
    {
        await using var queue = await OpenAsync();
        var ran = new TaskCompletionSource<Echo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((args, _, _) =>
        {
            ran.TrySetResult(args);
            return Task.CompletedTask;
        }));
        await processor.StartAsync(ct);

        EnqueueResult result;
        await using (var transaction = await Factory.BeginEnlistmentAsync(queue))
        {
            await transaction.WriteAsync("h1");
            result = await transaction.Jobs.EnqueueAsync(JobRequest.For(new Echo(5), new JobOptions { UniqueKey = "h1" }), ct);
            result.Inserted.Should().BeTrue();
            await transaction.Jobs.CommitAsync(ct);
        }

        // The poll interval is 30 s: a run this soon proves the commit's wake-up.
        (await ran.Task.WaitAsync(ct)).Should().Be(new Echo(5));
        (await Factory.CallerRowExistsAsync(queue, "h1")).Should().BeTrue();
        (await queue.GetJobAsync(result.JobId, ct))!.Summary.UniqueKey.Should().Be("h1");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TransactionalEnqueue_RolledBack_LeavesNoJobNoCallersRowAndNoWakeUp(CancellationToken ct)
    {
        await using var queue = await OpenAsync();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        await processor.StartAsync(ct);
        var wakeUps = 0;
        queue.JobsAvailable += _ => Interlocked.Increment(ref wakeUps);

        await using (var transaction = await Factory.BeginEnlistmentAsync(queue))
        {
            await transaction.WriteAsync("h1");
            await transaction.Jobs.EnqueueAsync(JobRequest.For(new Echo(5)), ct);
            await transaction.RollbackAsync();
        }

        (await queue.GetCountsAsync(ct)).Should().BeEmpty();
        (await Factory.CallerRowExistsAsync(queue, "h1")).Should().BeFalse();
        wakeUps.Should().Be(0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TransactionalEnqueue_DisposedWithoutCommit_LeavesNoJob(CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        await using (var transaction = await Factory.BeginEnlistmentAsync(queue))
        {
            await transaction.WriteAsync("h2");
            await transaction.Jobs.EnqueueAsync(JobRequest.For(new Echo(6)), ct);
        }

        (await queue.GetCountsAsync(ct)).Should().BeEmpty();
        (await Factory.CallerRowExistsAsync(queue, "h2")).Should().BeFalse();
    }
}
