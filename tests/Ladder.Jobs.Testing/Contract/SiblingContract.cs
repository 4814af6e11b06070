using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// Two queues on one store location (two hosts sharing their jobs): claims never overlap, a cancel or an enqueue on
/// one is seen by the other, a run whose lease expired is rescued by the other, and jobs outlive the queue that
/// enqueued them.
/// </summary>
public abstract class SiblingContract : JobStoreContract
{
    [Test]
    [CancelAfter(60_000)]
    public async Task TwoQueuesOnOneLocation_NeverClaimTheSameJob()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var a = await OpenAsync(time: time);
        await using var b = await OpenSiblingAsync(a, time: time);
        await a.EnqueueBatchAsync([.. Enumerable.Range(0, 200).Select(i => JobRequest.For(new Echo(i)))]);
        using var gate = new SemaphoreSlim(0);
        async Task<List<long>> Drain(JobQueue queue)
        {
            await gate.WaitAsync();
            var ids = new List<long>();
            while ((await queue.ClaimAsync("default", 7)).Jobs is { Count: > 0 } jobs)
            {
                ids.AddRange(jobs.Select(j => j.Id));
            }

            return ids;
        }

        var fromA = Drain(a);
        var fromB = Drain(b);
        gate.Release(2);
        var all = (await fromA).Concat(await fromB).ToList();

        all.Should().HaveCount(200).And.OnlyHaveUniqueItems();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Enqueue_OnOneQueue_IsRunByTheOthersProcessor(CancellationToken ct)
    {
        // A short poll on the processor's side: a store without cross-process wake-ups (SQLite) finds the job at the
        // next poll, a server store is woken by its notification before.
        await using var host = await OpenAsync(o => o.PollInterval = TimeSpan.FromMilliseconds(200));
        await using var other = await OpenSiblingAsync(host);
        var ran = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(host, new JobHandlerRegistry().Add<Echo>((args, _, _) =>
        {
            ran.TrySetResult(args.N);
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await other.EnqueueAsync(new Echo(7), cancellationToken: ct)).JobId;

        (await ran.Task.WaitAsync(ct)).Should().Be(7);
        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        (await other.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Succeeded);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Cancel_OnOneQueue_CancelsTheHandlerRunningOnTheOther(CancellationToken ct)
    {
        // A short heartbeat on the running side: a store without cross-process wake-ups reports the cancel at the
        // next heartbeat, a server store's notification before.
        await using var host = await OpenAsync(o =>
        {
            o.LeaseDuration = TimeSpan.FromSeconds(2);
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
        });
        await using var other = await OpenSiblingAsync(host);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(host, new JobHandlerRegistry().Add<Echo>(async (_, _, token) =>
        {
            await using var registration = token.Register(() => cancelled.TrySetResult());
            started.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await host.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        (await other.CancelAsync(id, ct)).Should().BeTrue();

        await cancelled.Task.WaitAsync(ct);
        await reports.UntilAsync(id, JobOutcome.LeaseLost, ct);
        (await host.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Cancelled);
        processor.HeldJobs.Should().Be(0);
        (await other.RetryAsync(id, ct)).Should().BeTrue("the handler ended: its lease was released");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Rescue_ByTheOtherQueue_AfterTheLeaseExpired_PutsTheJobBackForItToRun()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var died = await OpenAsync(o => o.LeaseDuration = TimeSpan.FromSeconds(30), time);
        await using var survivor = await OpenSiblingAsync(died, o => o.LeaseDuration = TimeSpan.FromSeconds(30), time);
        var id = (await died.EnqueueAsync(new Echo(1))).JobId;
        var lost = (await died.ClaimAsync("default", 1)).Jobs.Single();

        (await survivor.RescueExpiredAsync()).Should().Be((0, 0), "the lease is still valid");
        time.Advance(TimeSpan.FromSeconds(31));
        (await survivor.RescueExpiredAsync()).Should().Be((1, 0));

        var again = (await survivor.ClaimAsync("default", 1)).Jobs.Single();
        again.Id.Should().Be(id);
        again.WasRescued.Should().BeTrue();
        (await died.CompleteAsync(lost)).Should().BeFalse("the old run's lease is gone");
        (await survivor.CompleteAsync(again)).Should().BeTrue();
        (await died.GetJobAsync(id))!.Summary.Should().Match<JobSummary>(j => j.State == JobState.Succeeded && j.Rescues == 1 && j.Attempts == 1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ARunWhoseLeaseAnotherProcessRescued_EndsWithTheLostLeaseWarningAndCounter_AndItsOutcomeIsNotApplied(CancellationToken ct)
    {
        // Issue #10: a live host stalled past its lease (its clock stands still here: no heartbeat, no rescue) while the
        // other host's clock runs on, rescues the job and runs it. The stalled run must say it lost its lease.
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var stalledClock = new FakeTimeProvider(start);
        var otherClock = new FakeTimeProvider(start);
        var lost = new System.Collections.Concurrent.ConcurrentQueue<(long Value, string? Queue)>();
        using var meters = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == JobQueue.TelemetryName && i.Name == "ladder.jobs.leases_lost")
                {
                    l.EnableMeasurementEvents(i);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? queue = null;
            foreach (var tag in tags)
            {
                queue = tag.Key == "queue" ? tag.Value as string : queue;
            }

            lost.Enqueue((value, queue));
        });
        meters.Start();
        using var logs = new RecordingLogs();
        static void Options(LadderJobsOptions o)
        {
            o.LeaseDuration = TimeSpan.FromSeconds(30);
            o.Queues.Clear();
            o.Queues["stale"] = 1;
            o.Prefetch = 0; // Its one slot busy, the stalled host claims nothing more (a wake-up of the rescue must not hand it the job again).
        }

        await using var stalled = await OpenAsync(Options, stalledClock, logs);
        await using var other = await OpenSiblingAsync(stalled, Options, otherClock);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(stalled, new JobHandlerRegistry().Add<Echo>(async (_, _, _) =>
        {
            started.TrySetResult();
            await resume.Task;
            throw new JobPermanentFailureException("the stale run's outcome: dead, if it were applied");
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await stalled.EnqueueAsync(new Echo(1), new JobOptions { Queue = "stale" }, ct)).JobId;
        await started.Task.WaitAsync(ct);

        otherClock.Advance(TimeSpan.FromSeconds(31));
        (await other.RescueExpiredAsync()).Should().Be((1, 0), "the stalled host's lease expired by the other host's clock");
        var again = (await other.ClaimAsync("stale", 1)).Jobs.Should().ContainSingle().Subject;
        again.Id.Should().Be(id);
        (await other.CompleteAsync(again)).Should().BeTrue();
        resume.TrySetResult();

        await reports.UntilAsync(id, JobOutcome.LeaseLost, ct);
        logs.Messages(3021).Should().ContainSingle().Which.Should().Contain($"Job {id} (echo, attempt 1) lost its lease");
        lost.Should().Equal([(1L, "stale")], "one lost lease, counted on the Ladder.Jobs meter with its queue");
        logs.Messages(3006).Should().BeEmpty("the stale run's failure was not applied");
        var job = (await other.GetJobAsync(id, ct))!;
        job.Summary.Should().Match<JobSummary>(j => j.State == JobState.Succeeded && j.Rescues == 1 && j.Attempts == 1);
        job.Attempts.Should().ContainSingle("the rescue's record only: the stale run's failure was not recorded")
            .Which.ErrorMessage.Should().NotContain("stale run");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Rescue_NeverTakesARunItsOwnerStillHeartbeats()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var owner = await OpenAsync(o => o.LeaseDuration = TimeSpan.FromSeconds(30), time);
        await using var other = await OpenSiblingAsync(owner, o => o.LeaseDuration = TimeSpan.FromSeconds(30), time);
        await owner.EnqueueAsync(new Echo(1));
        var run = (await owner.ClaimAsync("default", 1)).Jobs.Single();

        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(20));
            (await owner.HeartbeatAsync([run])).Should().BeEmpty();
            (await other.RescueExpiredAsync()).Should().Be((0, 0), $"heartbeat {i + 1} extended the lease");
        }

        (await owner.CompleteAsync(run)).Should().BeTrue();
    }

    [TestCase(1)]
    [TestCase(3)]
    [CancelAfter(60_000)]
    public async Task JobsEnqueued_QueueClosedBeforeRunning_NewInstanceRunsThemAll(int jobs, CancellationToken ct)
    {
        var first = await OpenAsync();
        await using (first)
        {
            await first.EnqueueBatchAsync([.. Enumerable.Range(0, jobs).Select(i => JobRequest.For(new Echo(i)))], ct);
        }

        await using var second = await OpenSiblingAsync(first);
        var ran = new System.Collections.Concurrent.ConcurrentBag<int>();
        await using var processor = new JobProcessor(second, new JobHandlerRegistry().Add<Echo>((e, _, _) =>
        {
            ran.Add(e.N);
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        await reports.CountAsync(JobOutcome.Succeeded, jobs, ct);
        ran.Should().BeEquivalentTo(Enumerable.Range(0, jobs));
    }

    [TestCase(1)]
    [TestCase(3)]
    [CancelAfter(60_000)]
    public async Task JobsRunning_WhenTheProcessDies_NewInstanceRescuesAndCompletesThem(int jobs, CancellationToken ct)
    {
        static void Short(LadderJobsOptions o)
        {
            o.LeaseDuration = TimeSpan.FromMilliseconds(500);
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
            o.RescueInterval = TimeSpan.FromMilliseconds(100);
        }

        var first = await OpenAsync(Short);
        await using (first)
        {
            await first.EnqueueBatchAsync([.. Enumerable.Range(0, jobs).Select(i => JobRequest.For(new Echo(i)))], ct);
            // Claimed (state running) and then the "process" vanishes: no completion, no give-back, no heartbeat.
            (await first.ClaimAsync("default", jobs)).Jobs.Should().HaveCount(jobs);
        }

        await using var second = await OpenSiblingAsync(first, Short);
        var ran = new System.Collections.Concurrent.ConcurrentBag<int>();
        await using var processor = new JobProcessor(second, new JobHandlerRegistry().Add<Echo>((e, _, _) =>
        {
            ran.Add(e.N);
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        await reports.CountAsync(JobOutcome.Succeeded, jobs, ct);
        ran.Should().BeEquivalentTo(Enumerable.Range(0, jobs));
        (await second.GetJobsAsync(JobState.Succeeded, cancellationToken: ct)).Jobs.Should().OnlyContain(j => j.Rescues == 1 && j.Attempts == 1);
    }
}
