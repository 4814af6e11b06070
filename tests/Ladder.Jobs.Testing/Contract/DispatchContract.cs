namespace Ladder.Jobs.Testing.Contract;

/// <summary>Claimed jobs are handed to the handler tasks from the claim's commit callback, never run on the store's thread.</summary>
public abstract class DispatchContract : JobStoreContract
{
    [Test]
    [CancelAfter(60_000)]
    public async Task AHandlerThatBlocksItsThread_NeverBlocksTheWriter(CancellationToken ct)
    {
        // If dispatch ran the handler inline on the writer thread, the enqueue below could never commit.
        await using var queue = await OpenAsync();
        using var release = new ManualResetEventSlim();
        var blocking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var released = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((args, _, _) =>
        {
            if (args.N == 1)
            {
                blocking.TrySetResult();
                // Bounded, so a regression fails the assertion below instead of hanging the run.
                released.TrySetResult(release.Wait(TimeSpan.FromSeconds(20), CancellationToken.None));
            }

            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var first = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await blocking.Task.WaitAsync(ct);
        var second = (await queue.EnqueueAsync(new Echo(2), cancellationToken: ct)).JobId;
        release.Set();

        (await released.Task.WaitAsync(ct)).Should().BeTrue("the second enqueue committed while the first handler blocked its thread");
        await reports.UntilAsync(first, JobOutcome.Succeeded, ct);
        second.Should().NotBe(first);
    }
}
