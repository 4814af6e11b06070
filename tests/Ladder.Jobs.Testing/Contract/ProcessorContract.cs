namespace Ladder.Jobs.Testing.Contract;

/// <summary>The processor end to end, in real time. PollInterval is 30 s in these tests: quick results prove wake-ups.</summary>
public abstract class ProcessorContract : JobStoreContract
{
    private Task<JobQueue> Open(Action<LadderJobsOptions>? configure = null) => OpenAsync(configure);

    [Test]
    [CancelAfter(60_000)]
    public async Task Processor_RunsEnqueuedJobWithItsArgsAndContext(CancellationToken ct)
    {
        await using var queue = await Open();
        var seen = new TaskCompletionSource<(Echo Args, JobContext Context)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((args, context, _) =>
        {
            seen.TrySetResult((args, context));
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(42), cancellationToken: ct)).JobId;

        var (args, context) = await seen.Task.WaitAsync(ct);
        args.Should().Be(new Echo(42));
        context.Should().Match<JobContext>(c => c.JobId == id && c.Kind == "echo" && c.Queue == "default" && c.Attempt == 1 && c.MaxAttempts == 5);
        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Succeeded);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Processor_NeverRunsMoreThanItsConcurrency(CancellationToken ct)
    {
        await using var queue = await Open(o => o.Queues["default"] = 3);
        int running = 0, peak = 0, done = 0;
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Yield();
            await Task.Delay(5, CancellationToken.None);
            Interlocked.Decrement(ref running);
            if (Interlocked.Increment(ref done) == 60)
            {
                allDone.TrySetResult();
            }
        }));
        await processor.StartAsync(ct);

        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 60).Select(i => JobRequest.For(new Echo(i)))], ct);

        await allDone.Task.WaitAsync(ct);
        peak.Should().BeInRange(1, 3);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Handler_ThrowingPermanentFailure_DeadAtOnceWithTheReason(CancellationToken ct)
    {
        await using var queue = await Open();
        var runs = 0;
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) =>
        {
            Interlocked.Increment(ref runs);
            throw new JobPermanentFailureException("corrupt replay: bad header");
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;

        await reports.UntilAsync(id, JobOutcome.Dead, ct);
        runs.Should().Be(1);
        var job = (await queue.GetJobAsync(id, ct))!;
        job.Summary.State.Should().Be(JobState.Dead);
        job.Summary.LastError.Should().Contain("corrupt replay: bad header");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Handler_Throwing_RetriedUntilMaxAttemptsThenDead_AndRetryFromDeadRunsItAgain(CancellationToken ct)
    {
        await using var queue = await Open();
        var runs = 0;
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, context, _) =>
            Interlocked.Increment(ref runs) <= 3 ? throw new InvalidOperationException($"attempt {context.Attempt}") : Task.CompletedTask));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 3 }, ct)).JobId;

        (await reports.OfJobAsync(id, 3, ct)).Should().Equal(JobOutcome.Retrying, JobOutcome.Retrying, JobOutcome.Dead);
        runs.Should().Be(3);
        (await queue.GetJobAsync(id, ct))!.Attempts.Select(a => a.ErrorMessage).Should().Equal("attempt 1", "attempt 2", "attempt 3");

        // Retry from dead: attempts reset (the handler fails its first three runs only, so the fourth passes).
        (await queue.RetryAsync(id, ct)).Should().BeTrue();
        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.Should().Match<JobSummary>(j => j.State == JobState.Succeeded && j.Attempts == 1);
        (await queue.RetryAsync(id, ct)).Should().BeFalse("a succeeded job is not retried");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Job_WithCorruptPayload_DeadWithoutRetryLoop(CancellationToken ct)
    {
        await using var queue = await Open();
        var runs = 0;
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) =>
        {
            Interlocked.Increment(ref runs);
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new JobRequest("echo", """{"n": "not a number"}"""), ct)).JobId;

        await reports.UntilAsync(id, JobOutcome.Dead, ct);
        runs.Should().Be(0);
        var job = (await queue.GetJobAsync(id, ct))!;
        job.Summary.Attempts.Should().Be(1);
        job.Summary.LastError.Should().StartWith("Ladder.Jobs.JobPayloadException: The payload of a 'echo' job is not a valid Echo");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Job_OfUnknownKind_RetriedThenDeadWithAClearError(CancellationToken ct)
    {
        await using var queue = await Open();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new JobRequest("from-a-later-deploy", "{}", new JobOptions { MaxAttempts = 2 }), ct)).JobId;

        (await reports.OfJobAsync(id, 2, ct)).Should().Equal(JobOutcome.Retrying, JobOutcome.Dead);
        (await queue.GetJobAsync(id, ct))!.Summary.LastError.Should().Be("Ladder.Jobs.UnknownJobKindException: No handler is registered for job kind 'from-a-later-deploy'.");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Job_PastItsTimeout_HandlerTokenCancelledAndAttemptFailed(CancellationToken ct)
    {
        await using var queue = await Open();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, token) =>
        {
            await using var registration = token.Register(() => cancelled.TrySetResult());
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = TimeSpan.FromMilliseconds(200), MaxAttempts = 1 }, ct)).JobId;

        await cancelled.Task.WaitAsync(ct);
        await reports.UntilAsync(id, JobOutcome.Dead, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.LastError.Should().Be("Ladder.Jobs.JobTimeoutException: The job ran past its timeout of 00:00:00.2000000.");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Job_WhoseHandlerIgnoresItsTimeout_FreesItsSlotAfterTheGraceAndFailsWhenTheHandlerEnds(CancellationToken ct)
    {
        await using var queue = await Open(o =>
        {
            o.TimeoutGrace = TimeSpan.FromMilliseconds(200);
            o.Queues["default"] = 1;
        });
        using var release = new SemaphoreSlim(0);
        var otherStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (args, _, _) =>
        {
            if (args.N == 2)
            {
                otherStarted.TrySetResult();
                return;
            }

            await release.WaitAsync(ct);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = TimeSpan.FromMilliseconds(200), MaxAttempts = 1 }, ct)).JobId;
        await queue.EnqueueAsync(new Echo(2), cancellationToken: ct);

        // The only slot was freed after the grace: the other job ran while the handler still ignores its timeout.
        await otherStarted.Task.WaitAsync(ct);
        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Running, "the job stays held until its handler ends");
        release.Release();
        await reports.UntilAsync(id, JobOutcome.Dead, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.LastError.Should().Contain("ignored cancellation");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Handler_Snoozing_RunsAgainLaterWithoutSpendingAnAttempt(CancellationToken ct)
    {
        await using var queue = await Open();
        var attempts = new List<int>();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, context, _) =>
        {
            lock (attempts)
            {
                attempts.Add(context.Attempt);
                if (attempts.Count == 1)
                {
                    context.Snooze(TimeSpan.FromMilliseconds(100));
                }
            }

            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 1 }, ct)).JobId;

        (await reports.OfJobAsync(id, 2, ct)).Should().Equal(JobOutcome.Snoozed, JobOutcome.Succeeded);
        attempts.Should().Equal(1, 1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Cancel_RunningJob_CancelsItsHandlerTokenAndKeepsItCancelled(CancellationToken ct)
    {
        await using var queue = await Open();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, token) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        (await queue.CancelAsync(id, ct)).Should().BeTrue();

        await reports.UntilAsync(id, JobOutcome.LeaseLost, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Cancelled);
        (await queue.CancelAsync(id, ct)).Should().BeFalse("it is already finished");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Stop_LetsRunningJobFinishAndGivesBackUnstartedClaimsWithoutSpendingAnAttempt(CancellationToken ct)
    {
        await using var queue = await Open(o =>
        {
            o.Queues["default"] = 1;
            o.Prefetch = 4;
            o.ShutdownGrace = TimeSpan.FromSeconds(30);
        });
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new SemaphoreSlim(0);
        var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) =>
        {
            started.TrySetResult();
            await release.WaitAsync(ct);
        }));
        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 5).Select(i => JobRequest.For(new Echo(i)))], ct);
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        await started.Task.WaitAsync(ct);
        processor.HeldJobs.Should().Be(5, "one runs and four are claimed ahead");

        var stop = processor.StopAsync(ct);
        release.Release();
        await stop;
        await processor.DisposeAsync();

        var counts = (await queue.GetCountsAsync(ct)).ToDictionary(c => c.State, c => c.Count);
        counts.Should().Equal(new Dictionary<JobState, long> { [JobState.Succeeded] = 1, [JobState.Ready] = 4 });
        var ready = await queue.GetJobsAsync(JobState.Ready, cancellationToken: ct);
        ready.Jobs.Should().OnlyContain(j => j.Attempts == 0 && j.Rescues == 0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Stop_WithHandlerIgnoringCancellation_ReturnsAfterTheGraceAndGivesTheJobBack(CancellationToken ct)
    {
        await using var queue = await Open(o => o.ShutdownGrace = TimeSpan.FromMilliseconds(300));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var never = new SemaphoreSlim(0);
        var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) =>
        {
            started.TrySetResult();
            await never.WaitAsync(ct);
        }));
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        await processor.StopAsync(ct);

        (await queue.GetJobAsync(id, ct))!.Summary.Should().Match<JobSummary>(j => j.State == JobState.Ready && j.Attempts == 0);
        never.Release();
        await processor.DisposeAsync();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Processor_WakesAtTheScheduledTime_NotAtThePollInterval(CancellationToken ct)
    {
        await using var queue = await Open();
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) =>
        {
            ran.TrySetResult();
            return Task.CompletedTask;
        }));
        await processor.StartAsync(ct);
        var start = TimeProvider.System.GetTimestamp();

        await queue.EnqueueAsync(new Echo(1), new JobOptions { Delay = TimeSpan.FromMilliseconds(500) }, ct);

        await ran.Task.WaitAsync(ct);
        TimeProvider.System.GetElapsedTime(start).Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(450)).And.BeLessThan(TimeSpan.FromSeconds(20), "the poll interval is 30 s");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
