
namespace Ladder.Jobs.Testing.Contract;

/// <summary>Races between a job's runs, its heartbeats, its cancellation and shutdown, driven step by step with signals.</summary>
public abstract class ProcessorRaceContract : JobStoreContract
{
    private Task<JobQueue> Open(Action<LadderJobsOptions>? configure = null) => OpenAsync(configure);

    [Test]
    [CancelAfter(60_000)]
    public async Task Heartbeat_LostAnswerForAnOldRun_DoesNotCancelTheJobsNewRun(CancellationToken ct)
    {
        await using var queue = await Open();
        var runs = 0;
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondStarted = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseSecond = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, context, token) =>
        {
            if (Interlocked.Increment(ref runs) == 1)
            {
                firstStarted.TrySetResult();
                await releaseFirst.Task;
                context.Snooze(TimeSpan.Zero);
                return;
            }

            secondStarted.TrySetResult(token);
            await releaseSecond.Task.WaitAsync(token);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;

        // A heartbeat takes its snapshot while the first run holds the job...
        await firstStarted.Task.WaitAsync(ct);
        var staleSnapshot = processor.HeldJobsSnapshot();
        // ...the run snoozes for zero and the job is claimed again under a new lease...
        releaseFirst.TrySetResult();
        await reports.UntilAsync(id, JobOutcome.Snoozed, ct);
        var secondToken = await secondStarted.Task.WaitAsync(ct);
        // ...then the heartbeat's answer arrives: the first run's lease is lost.
        await processor.HeartbeatOnceAsync(staleSnapshot);

        secondToken.IsCancellationRequested.Should().BeFalse("only the old run lost its lease");
        releaseSecond.TrySetResult();
        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        runs.Should().Be(2);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CancellingARunningJob_WithAHandlerCallbackThatBlocks_DoesNotBlockTheWriter(CancellationToken ct)
    {
        await using var queue = await Open();
        using var callbackGate = new ManualResetEventSlim();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callbackRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, token) =>
        {
            // Not disposed with the handler: disposing would unregister the callback before it runs.
            _ = token.Register(() =>
            {
                callbackRan.TrySetResult();
                callbackGate.Wait(CancellationToken.None);
            });
            started.TrySetResult();
            await new TaskCompletionSource().Task.WaitAsync(token);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        try
        {
            // The cancel commits on the writer thread, which signals the processor; the handler's callback blocks.
            (await queue.CancelAsync(id, ct)).Should().BeTrue();
            await callbackRan.Task.WaitAsync(ct);
            var next = await queue.EnqueueAsync(new Echo(2), cancellationToken: ct);
            next.JobId.Should().BeGreaterThan(id, "the writer kept committing while the handler's callback blocked");
        }
        finally
        {
            callbackGate.Set();
        }

        await reports.UntilAsync(id, JobOutcome.LeaseLost, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Cancelled);
    }
}
