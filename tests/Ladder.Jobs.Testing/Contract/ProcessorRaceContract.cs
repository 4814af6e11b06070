
namespace Ladder.Jobs.Testing.Contract;

/// <summary>Races between a job's runs, its heartbeats, its cancellation and shutdown, driven step by step with signals.</summary>
public abstract class ProcessorRaceContract : JobStoreContract
{
    private Task<JobQueue> Open(Action<LadderJobsOptions>? configure = null) => OpenAsync(configure);

    [Test]
    [CancelAfter(60_000)]
    public async Task Heartbeat_ThatFindsARunWhoseOutcomeCommitted_ButNotYetReleased_IsNoLostLease(CancellationToken ct)
    {
        // The first chaos run with warning 3021 logged six lost leases on live hosts and no re-run of them: a heartbeat's
        // snapshot held runs whose success committed before its statement ran (their report not yet released).
        using var logs = new RecordingLogs();
        await using var queue = await OpenAsync(loggerFactory: logs);
        using var committed = new ManualResetEventSlim();
        using var resume = new ManualResetEventSlim();
        var blockOnce = 1;
        var lost = 0L;
        using var meters = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == JobQueue.TelemetryName && i.Name is "ladder.jobs.succeeded" or "ladder.jobs.leases_lost")
                {
                    l.EnableMeasurementEvents(i);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((i, value, _, _) =>
        {
            if (i.Name == "ladder.jobs.leases_lost")
            {
                Interlocked.Add(ref lost, value);
            }
            else if (Interlocked.Exchange(ref blockOnce, 0) == 1)
            {
                // Counted after the success committed, before the run is released: the report waits here.
                committed.Set();
                resume.Wait(TimeSpan.FromSeconds(30));
            }
        });
        meters.Start();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await Task.Run(() => committed.Wait(ct), ct);

        processor.HeldJobsSnapshot().Should().ContainSingle(j => j.Id == id, "the run is still held");
        await processor.HeartbeatOnceAsync();
        resume.Set();

        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        logs.Messages(3021).Should().BeEmpty("the run's own success ended its lease, no other process took it");
        Interlocked.Read(ref lost).Should().Be(0);
    }

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
