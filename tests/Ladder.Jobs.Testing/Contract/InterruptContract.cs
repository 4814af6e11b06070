
namespace Ladder.Jobs.Testing.Contract;

/// <summary>Jobs interrupted by shutdown go back to the queue without spending an attempt.</summary>
public abstract class InterruptContract : JobStoreContract
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Stop_WithHandlerWrappingItsCancellationInAnotherException_GivesTheJobBackWithoutSpendingAnAttempt(CancellationToken ct)
    {
        await using var queue = await OpenAsync(o => o.ShutdownGrace = TimeSpan.FromMilliseconds(100));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var threw = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, token) =>
        {
            started.TrySetResult();
            try
            {
                await new TaskCompletionSource().Task.WaitAsync(token);
            }
            catch (OperationCanceledException e)
            {
                threw.TrySetResult();
                throw new IOException("upload aborted", e);
            }
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        await processor.StopAsync(ct);
        await threw.Task.WaitAsync(ct);
        await processor.DisposeAsync();

        // Whichever gave it back (the worker seeing the handler's error, or shutdown itself), it was given back.
        (await reports.NextAsync(ct)).Should().Be((id, JobOutcome.GivenBack));

        (await queue.GetJobAsync(id, ct))!.Summary.Should().Match<JobSummary>(j => j.State == JobState.Ready && j.Attempts == 0);
    }
}
