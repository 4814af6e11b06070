using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>The lease protocol through the queue's internal API, with time from a FakeTimeProvider.</summary>
public abstract class LeaseContract : JobStoreContract
{
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private Task<JobQueue> Open(Action<LadderJobsOptions>? configure = null) =>
        OpenAsync(o =>
        {
            o.LeaseDuration = TimeSpan.FromSeconds(30);
            o.RetryBaseDelay = TimeSpan.FromSeconds(10);
            o.RetryMaxDelay = TimeSpan.FromMinutes(10);
            configure?.Invoke(o);
        }, _time);

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_TakesEachJobOnce_EvenFromConcurrentClaimers()
    {
        await using var queue = await Open();
        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 100).Select(i => JobRequest.For(new Echo(i)))]);
        using var gate = new SemaphoreSlim(0);
        var claims = Enumerable.Range(0, 10).Select(async _ =>
        {
            await gate.WaitAsync();
            return await queue.ClaimAsync("default", 15);
        }).ToList();
        gate.Release(10);

        var claimed = (await Task.WhenAll(claims)).SelectMany(b => b.Jobs).ToList();

        claimed.Should().HaveCount(100);
        claimed.Select(j => j.Id).Distinct().Should().HaveCount(100);
        claimed.Should().OnlyContain(j => j.Attempt == 1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_OrdersByPriorityThenRunAt()
    {
        await using var queue = await Open();
        var low = await queue.EnqueueAsync(new Echo(1), new JobOptions { Priority = 0 });
        var high = await queue.EnqueueAsync(new Echo(2), new JobOptions { Priority = 5 });
        var lowEarlier = await queue.EnqueueAsync(new Echo(3), new JobOptions { Priority = 0, RunAt = _time.GetUtcNow().AddMinutes(-1) });

        var batch = await queue.ClaimAsync("default", 10);

        batch.Jobs.Select(j => j.Id).Should().Equal(high.JobId, lowEarlier.JobId, low.JobId);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_ScheduledJob_WaitsForItsRunAtAndReportsIt()
    {
        await using var queue = await Open();
        var job = await queue.EnqueueAsync(new Echo(1), new JobOptions { Delay = TimeSpan.FromMinutes(5) });
        (await queue.GetJobAsync(job.JobId))!.Summary.State.Should().Be(JobState.Scheduled);

        var early = await queue.ClaimAsync("default", 10);
        _time.Advance(TimeSpan.FromMinutes(5));
        var onTime = await queue.ClaimAsync("default", 10);

        early.Jobs.Should().BeEmpty();
        early.NextRunIn.Should().Be(TimeSpan.FromMinutes(5), "the claim reports how long until the job becomes runnable");
        onTime.Jobs.Should().ContainSingle().Which.Id.Should().Be(job.JobId);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_WhenLeaseExpired_ReturnsJobToQueueWithoutSpendingAnAttempt()
    {
        await using var queue = await Open();
        var id = (await queue.EnqueueAsync(new Echo(1))).JobId;
        (await queue.ClaimAsync("default", 1)).Jobs.Should().ContainSingle();

        (await queue.RescueExpiredAsync()).Should().Be((0, 0), "the lease is still valid");
        _time.Advance(TimeSpan.FromSeconds(31));
        (await queue.RescueExpiredAsync()).Should().Be((1, 0));

        var job = (await queue.GetJobAsync(id))!;
        job.Summary.State.Should().Be(JobState.Ready);
        job.Summary.Attempts.Should().Be(0);
        job.Summary.Rescues.Should().Be(1);
        job.Attempts.Should().ContainSingle().Which.Outcome.Should().Be("rescued");
        (await queue.ClaimAsync("default", 1)).Jobs.Single().Attempt.Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Heartbeat_KeepsTheLeaseAlivePastItsFirstExpiry()
    {
        await using var queue = await Open();
        await queue.EnqueueAsync(new Echo(1));
        var claimed = (await queue.ClaimAsync("default", 1)).Jobs.Single();

        _time.Advance(TimeSpan.FromSeconds(20));
        (await queue.HeartbeatAsync([claimed])).Should().BeEmpty();
        _time.Advance(TimeSpan.FromSeconds(20));

        (await queue.RescueExpiredAsync()).Should().Be((0, 0));
        (await queue.CompleteAsync(claimed)).Should().BeTrue();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Heartbeat_NeverShortensALease_SoOneThatReadItsTimeEarlyAndLandsLateDoesNotLoseIt()
    {
        // Two heartbeats of one run in flight (the processor's loop and another caller): the one that read its time
        // first may land last. A 1 s lease at 20 s stands for one that read 0:00:21 - 0:00:30 and landed after one that
        // read 0:00:20 + 30 s: the later expiry stays.
        await using var queue = await Open();
        await queue.EnqueueAsync(new Echo(1));
        var claimed = (await queue.ClaimAsync("default", 1)).Jobs.Single();

        _time.Advance(TimeSpan.FromSeconds(20));
        (await queue.Store.HeartbeatAsync([claimed.Lease], TimeSpan.FromSeconds(30))).Should().BeEmpty();
        (await queue.Store.HeartbeatAsync([claimed.Lease], TimeSpan.FromSeconds(1))).Should().BeEmpty();
        _time.Advance(TimeSpan.FromSeconds(20));

        (await queue.RescueExpiredAsync()).Should().Be((0, 0), "the lease holds until 0:00:50");
        _time.Advance(TimeSpan.FromSeconds(11));
        (await queue.RescueExpiredAsync()).Should().Be((1, 0));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task RescuedJob_LateCompletionOfItsOldRun_CannotOverwriteItsNewRun()
    {
        await using var queue = await Open();
        var id = (await queue.EnqueueAsync(new Echo(1))).JobId;
        var oldRun = (await queue.ClaimAsync("default", 1)).Jobs.Single();
        _time.Advance(TimeSpan.FromSeconds(31));
        await queue.RescueExpiredAsync();
        var newRun = (await queue.ClaimAsync("default", 1)).Jobs.Single();

        var lateComplete = await queue.CompleteAsync(oldRun);
        var lateFail = await queue.FailAsync(oldRun, new InvalidOperationException("late"), permanent: true);
        var lateSnooze = await queue.SnoozeAsync(oldRun, TimeSpan.FromHours(1));
        var lateGiveBack = await queue.GiveBackAsync(oldRun);
        var lostHeartbeat = await queue.HeartbeatAsync([oldRun]);

        lateComplete.Should().BeFalse();
        lateFail.Should().Be(FailOutcome.LeaseLost);
        lateSnooze.Should().BeFalse();
        lateGiveBack.Should().BeFalse();
        lostHeartbeat.Should().Equal((oldRun, false));
        (await queue.GetJobAsync(id))!.Summary.State.Should().Be(JobState.Running, "the new run still holds the job");
        (await queue.CompleteAsync(newRun)).Should().BeTrue();
        (await queue.GetJobAsync(id))!.Summary.State.Should().Be(JobState.Succeeded);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Complete_ManyAtOnce_EachLearnsWhetherItsLeaseHeld()
    {
        await using var queue = await Open();
        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 6).Select(i => JobRequest.For(new Echo(i)))]);
        var claimed = (await queue.ClaimAsync("default", 6)).Jobs.ToList();
        claimed[2] = claimed[2] with { Lease = claimed[2].Lease with { Token = claimed[2].Lease.Token ^ 1 } }; // a run whose lease is gone

        var results = await Task.WhenAll(claimed.Select(queue.CompleteAsync));

        results.Should().Equal(true, true, false, true, true, true);
        var states = new List<JobState>();
        foreach (var job in claimed)
        {
            states.Add((await queue.GetJobAsync(job.Id))!.Summary.State);
        }

        states.Should().Equal(JobState.Succeeded, JobState.Succeeded, JobState.Running, JobState.Succeeded, JobState.Succeeded, JobState.Succeeded);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Complete_OfTwoRunsOfOneJobAtOnce_OnlyTheRunHoldingTheLeaseSucceeds()
    {
        await using var queue = await Open();
        await queue.EnqueueAsync(new Echo(1));
        var current = (await queue.ClaimAsync("default", 1)).Jobs.Single();
        var lost = current with { Lease = current.Lease with { Token = current.Lease.Token ^ 1 } }; // an older run of the same job, its lease gone

        // Queued back to back, so they would share a statement, which cannot tell two runs of one id apart.
        var late = queue.CompleteAsync(lost);
        var holding = queue.CompleteAsync(current);

        (await late).Should().BeFalse();
        (await holding).Should().BeTrue();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Rescue_MoreThanMaxRescues_DeadAsPoisonWithTheReason()
    {
        await using var queue = await Open(o => o.MaxRescues = 2);
        var id = (await queue.EnqueueAsync(new Echo(1))).JobId;
        for (var i = 0; i < 3; i++)
        {
            (await queue.ClaimAsync("default", 1)).Jobs.Should().ContainSingle();
            _time.Advance(TimeSpan.FromSeconds(31));
            await queue.RescueExpiredAsync();
        }

        var job = (await queue.GetJobAsync(id))!;
        job.Summary.State.Should().Be(JobState.Dead);
        job.Summary.Rescues.Should().Be(3);
        job.Summary.Attempts.Should().Be(0);
        job.Summary.LastError.Should().StartWith("Poison: its lease expired 3 times");
        job.Attempts.Should().HaveCount(3).And.OnlyContain(a => a.Outcome == "rescued");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Rescue_OfJobsClaimedAheadAndNeverStarted_ReleasesThemUncounted_HoweverOften()
    {
        await using var queue = await Open(o => o.MaxRescues = 2);
        var ids = (await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 3).Select(i => JobRequest.For(new Echo(i)))])).Select(r => r.JobId).ToList();
        for (var i = 0; i < 3; i++)
        {
            // The first starts at once (recorded by the claim), the other two wait in the prefetch; then the process dies.
            var claimed = (await queue.ClaimAsync("default", 3, startNow: 1)).Jobs;
            claimed.Select(j => (j.Id, j.HandlerStarted)).Should().Equal((ids[0], true), (ids[1], false), (ids[2], false));
            _time.Advance(TimeSpan.FromSeconds(31));
            await queue.RescueExpiredAsync();
        }

        var poison = (await queue.GetJobAsync(ids[0]))!;
        poison.Summary.Should().Match<JobSummary>(j => j.State == JobState.Dead && j.Rescues == 3);
        foreach (var id in ids.Skip(1))
        {
            var job = (await queue.GetJobAsync(id))!;
            job.Summary.Should().Match<JobSummary>(j => j.State == JobState.Ready && j.Rescues == 0 && j.Attempts == 0);
            job.Attempts.Should().HaveCount(3).And.OnlyContain(a => a.Outcome == "released" && a.ErrorMessage!.Contains("before the job started", StringComparison.Ordinal));
        }

        var again = (await queue.ClaimAsync("default", 2, startNow: 0)).Jobs;
        again.Should().OnlyContain(j => j.RescuesUnstarted == 3 && j.WasRescued, "the next run of a job rescued unstarted waits for its start mark");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Rescue_OfAJobClaimedAheadWhoseStartWasMarked_CountsAsARescue()
    {
        await using var queue = await Open();
        var ids = (await queue.EnqueueBatchAsync([JobRequest.For(new Echo(1)), JobRequest.For(new Echo(2))])).Select(r => r.JobId).ToList();
        var claimed = (await queue.ClaimAsync("default", 2, startNow: 0)).Jobs;
        claimed.Should().OnlyContain(j => !j.HandlerStarted && !j.WasRescued);

        await queue.Store.MarkStartedAsync(claimed[0].Lease);
        _time.Advance(TimeSpan.FromSeconds(31));
        (await queue.RescueExpiredAsync()).Should().Be((2, 0));

        (await queue.GetJobAsync(ids[0]))!.Summary.Rescues.Should().Be(1, "its handler had started");
        (await queue.GetJobAsync(ids[1]))!.Summary.Rescues.Should().Be(0, "it never started");
        (await queue.GetJobAsync(ids[0]))!.Attempts.Should().ContainSingle().Which.Outcome.Should().Be("rescued");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StartMarks_OfSeveralJobsAtOnce_AreAllRecorded()
    {
        await using var queue = await Open();
        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 5).Select(i => JobRequest.For(new Echo(i)))]);
        var claimed = (await queue.ClaimAsync("default", 5, startNow: 0)).Jobs;

        // Queued back to back: they share one write (or two, if the writer takes the first alone).
        var marks = claimed.Take(4).Select(j => queue.Store.MarkStartedAsync(j.Lease)).ToList();
        await Task.WhenAll(marks);
        _time.Advance(TimeSpan.FromSeconds(31));
        await queue.RescueExpiredAsync();

        var rescues = new List<int>();
        foreach (var job in claimed)
        {
            rescues.Add((await queue.GetJobAsync(job.Id))!.Summary.Rescues);
        }

        rescues.Should().Equal(1, 1, 1, 1, 0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StartMark_OfAnOldLease_ChangesNothing()
    {
        await using var queue = await Open();
        var id = (await queue.EnqueueAsync(new Echo(1))).JobId;
        var oldRun = (await queue.ClaimAsync("default", 1, startNow: 0)).Jobs.Single();
        _time.Advance(TimeSpan.FromSeconds(31));
        await queue.RescueExpiredAsync();
        var newRun = (await queue.ClaimAsync("default", 1, startNow: 0)).Jobs.Single();

        await queue.Store.MarkStartedAsync(oldRun.Lease);
        _time.Advance(TimeSpan.FromSeconds(31));
        await queue.RescueExpiredAsync();

        newRun.Id.Should().Be(id);
        (await queue.GetJobAsync(id))!.Summary.Rescues.Should().Be(0, "the mark was for a lease that had expired, not for the new run");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Fail_BeforeMaxAttempts_RetriesWithExponentialBackoffAndJitter()
    {
        await using var queue = await Open();
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 3 })).JobId;
        var delays = new List<TimeSpan>();
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var claimed = (await queue.ClaimAsync("default", 1)).Jobs.Single();
            claimed.Attempt.Should().Be(attempt);
            (await queue.FailAsync(claimed, new InvalidOperationException($"boom {attempt}"), permanent: false)).Should().Be(FailOutcome.Retrying);
            var job = (await queue.GetJobAsync(id))!.Summary;
            job.State.Should().Be(JobState.Failed);
            delays.Add(job.RunAt - _time.GetUtcNow());
            (await queue.ClaimAsync("default", 1)).Jobs.Should().BeEmpty("the retry waits for its backoff");
            _time.Advance(job.RunAt - _time.GetUtcNow());
        }

        delays[0].Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(5)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(10));
        delays[1].Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(10)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(20));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Fail_OnLastAttempt_DeadWithEveryAttemptRecorded()
    {
        await using var queue = await Open(o => o.RetryBaseDelay = TimeSpan.Zero);
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 2 })).JobId;

        var first = (await queue.ClaimAsync("default", 1)).Jobs.Single();
        (await queue.FailAsync(first, new InvalidOperationException("boom 1"), permanent: false)).Should().Be(FailOutcome.Retrying);
        var second = (await queue.ClaimAsync("default", 1)).Jobs.Single();
        (await queue.FailAsync(second, new InvalidOperationException("boom 2"), permanent: false)).Should().Be(FailOutcome.Dead);

        var job = (await queue.GetJobAsync(id))!;
        job.Summary.State.Should().Be(JobState.Dead);
        job.Summary.LastError.Should().Be("System.InvalidOperationException: boom 2");
        job.Attempts.Select(a => (a.Attempt, a.Outcome, a.ErrorMessage)).Should().Equal((1, "failed", "boom 1"), (2, "dead", "boom 2"));
        job.Attempts.Should().OnlyContain(a => a.ErrorType == "System.InvalidOperationException");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Snooze_RunsLaterWithoutSpendingAnAttempt()
    {
        await using var queue = await Open();
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 1 })).JobId;
        var claimed = (await queue.ClaimAsync("default", 1)).Jobs.Single();

        (await queue.SnoozeAsync(claimed, TimeSpan.FromMinutes(1))).Should().BeTrue();

        (await queue.GetJobAsync(id))!.Summary.Should().Match<JobSummary>(j => j.State == JobState.Scheduled && j.Attempts == 0);
        (await queue.ClaimAsync("default", 1)).Jobs.Should().BeEmpty();
        _time.Advance(TimeSpan.FromMinutes(1));
        (await queue.ClaimAsync("default", 1)).Jobs.Single().Attempt.Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task GiveBack_ReturnsTheJobReadyWithItsAttemptRefunded()
    {
        await using var queue = await Open();
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 1 })).JobId;
        var claimed = (await queue.ClaimAsync("default", 1)).Jobs.Single();

        (await queue.GiveBackAsync(claimed)).Should().BeTrue();

        (await queue.GetJobAsync(id))!.Summary.Should().Match<JobSummary>(j => j.State == JobState.Ready && j.Attempts == 0 && j.Rescues == 0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Retry_OfAJobCancelledWhileRunning_WaitsForItsOldLeaseToExpire()
    {
        await using var queue = await Open();
        var id = (await queue.EnqueueAsync(new Echo(1))).JobId;
        (await queue.ClaimAsync("default", 1)).Jobs.Should().ContainSingle("another process runs it");

        (await queue.CancelAsync(id)).Should().BeTrue();
        (await queue.RetryAsync(id)).Should().BeFalse("the other process's handler may run until its lease expires");
        _time.Advance(TimeSpan.FromSeconds(31));

        (await queue.RetryAsync(id)).Should().BeTrue();
        (await queue.GetJobAsync(id))!.Summary.State.Should().Be(JobState.Ready);
        (await queue.ClaimAsync("default", 1)).Jobs.Should().ContainSingle().Which.Id.Should().Be(id);
    }
}
