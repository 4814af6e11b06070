using Ladder.Jobs.PostgreSql.Tests.Support;
using Ladder.Jobs.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.PostgreSql.Tests;

/// <summary>The store through its contract, in the tests' context-clock mode (a fake clock drives every time it writes).</summary>
public sealed class StoreTests
{
    private string _database = "";
    private FakeTimeProvider _time = null!;
    private Harness _h = null!;

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [SetUp]
    public async Task OpenAsync()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _h = await Harness.OpenAsync(_database, Server.NewName("s"), o => o.UseContextClock = true, _time);
    }

    [TearDown]
    public async Task CloseAsync() => await _h.DisposeAsync();

    private PostgresJobStore Store => _h.Store;

    [Test]
    [CancelAfter(30_000)]
    public async Task Claim_TakesByPriorityThenRunTimeThenId_AndStartsOnlyStartNowOfThem(CancellationToken ct)
    {
        var ids = await Store.EnqueueAsync(
            [TestJobs.New(priority: 0), TestJobs.New(priority: 5), TestJobs.New(priority: 0, runAt: _time.GetUtcNow().AddSeconds(-10)), TestJobs.New(priority: 5), TestJobs.New(delay: TimeSpan.FromMinutes(1))], ct);
        ids.Should().OnlyContain(r => r.Inserted);

        var batch = await Store.ClaimAsync(TestJobs.Claim(limit: 10, startNow: 2), null);

        batch.Jobs.Select(j => j.Id).Should().Equal(ids[1].JobId, ids[3].JobId, ids[2].JobId, ids[0].JobId);
        batch.Jobs.Select(j => j.HandlerStarted).Should().Equal(true, true, false, false);
        batch.Jobs.Should().OnlyContain(j => j.Attempt == 1 && j.StartedAt == _time.GetUtcNow());
        batch.Jobs.Select(j => j.Lease.Token).Distinct().Should().ContainSingle();
        batch.NextRunIn.Should().Be(TimeSpan.FromMinutes(1), "the delayed job is the next runnable one");
        (await Store.ClaimAsync(TestJobs.Claim(), null)).Jobs.Should().BeEmpty();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Outcomes_AreCompareAndSetsOnTheLease(CancellationToken ct)
    {
        await Store.EnqueueAsync([TestJobs.New(), TestJobs.New(), TestJobs.New(), TestJobs.New()], ct);
        var claimed = (await Store.ClaimAsync(TestJobs.Claim(), null)).Jobs;
        var stale = claimed[0].Lease with { Token = claimed[0].Lease.Token + 1 };

        (await Store.CompleteAsync(stale)).Should().BeFalse();
        (await Store.CompleteAsync(claimed[0].Lease)).Should().BeTrue();
        (await Store.CompleteAsync(claimed[0].Lease)).Should().BeFalse("a second outcome of a finished run changes nothing");

        var failure = new JobFailure(1, claimed[1].StartedAt, Dead: false, TimeSpan.FromSeconds(5), "System.Exception", "boom", "stack");
        (await Store.FailAsync(claimed[1].Lease, failure)).Should().Be(FailOutcome.Retrying);
        (await Store.FailAsync(claimed[1].Lease, failure)).Should().Be(FailOutcome.LeaseLost);
        (await Store.FailAsync(claimed[2].Lease, failure with { Dead = true })).Should().Be(FailOutcome.Dead);
        (await Store.SnoozeAsync(claimed[3].Lease, TimeSpan.FromSeconds(7))).Should().BeTrue();

        var retried = await Store.GetJobAsync(claimed[1].Id, ct);
        retried!.Summary.State.Should().Be(JobState.Failed);
        retried.Summary.RunAt.Should().Be(_time.GetUtcNow().AddSeconds(5));
        retried.Summary.LastError.Should().Be("System.Exception: boom");
        retried.Attempts.Should().ContainSingle().Which.Should().Be(new JobAttempt(1, "failed", claimed[1].StartedAt, _time.GetUtcNow(), "System.Exception", "boom", "stack"));
        (await Store.GetJobAsync(claimed[2].Id, ct))!.Summary.Should().Match<JobSummary>(s => s.State == JobState.Dead && s.FinishedAt == _time.GetUtcNow());
        var snoozed = (await Store.GetJobAsync(claimed[3].Id, ct))!.Summary;
        snoozed.State.Should().Be(JobState.Scheduled);
        snoozed.Attempts.Should().Be(0, "a snooze refunds its attempt");
        (await Store.GetJobAsync(claimed[0].Id, ct))!.Summary.State.Should().Be(JobState.Succeeded);

        _time.Advance(TimeSpan.FromSeconds(5));
        var again = await Store.ClaimAsync(TestJobs.Claim(), null);
        again.Jobs.Should().ContainSingle().Which.Should().Match<ClaimedJob>(j => j.Id == claimed[1].Id && j.Attempt == 2);
        again.NextRunIn.Should().Be(TimeSpan.FromSeconds(2));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Completions_OfTheSameMoment_ShareOneStatement_AndEachLearnsWhetherItsLeaseHeld(CancellationToken ct)
    {
        await Store.EnqueueAsync([.. Enumerable.Range(0, 200).Select(_ => TestJobs.New())], ct);
        var claimed = (await Store.ClaimAsync(TestJobs.Claim(limit: 200), null)).Jobs;

        var results = await Task.WhenAll(claimed.Select((j, i) => Store.CompleteAsync(i % 10 == 0 ? j.Lease with { Token = 7 } : j.Lease)));

        results.Count(r => r).Should().Be(180);
        Store.CompletionStatements.Should().BeLessThan(20, "200 completions at once ride on a few statements, not one each");
        var counts = await Store.GetCountsAsync(null, ct);
        counts.Should().BeEquivalentTo([new QueueStateCount("default", JobState.Running, 20), new QueueStateCount("default", JobState.Succeeded, 180)]);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ACompletionRetriedAfterItsAnswerWasLost_ReportsApplied_AndChangesNothing(CancellationToken ct)
    {
        await Store.EnqueueAsync([TestJobs.New()], ct);
        var job = (await Store.ClaimAsync(TestJobs.Claim(), null)).Jobs[0];
        (await Store.CompleteAsync(job.Lease)).Should().BeTrue();
        var finished = (await Store.GetJobAsync(job.Id, ct))!.Summary.FinishedAt;
        _time.Advance(TimeSpan.FromSeconds(3));

        // What a retry of the same statement does when the first one committed but its answer never arrived.
        var written = await Store.WriteCompletionsAsync([job.Lease], retried: true);
        var notRetried = await Store.WriteCompletionsAsync([job.Lease], retried: false);

        written.Should().Contain(job.Lease);
        notRetried.Should().BeEmpty();
        (await Store.GetJobAsync(job.Id, ct))!.Summary.FinishedAt.Should().Be(finished, "applied once");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Heartbeat_ExtendsHeldLeases_ReportsLostAndCancelledRuns(CancellationToken ct)
    {
        await Store.EnqueueAsync([TestJobs.New(), TestJobs.New(), TestJobs.New()], ct);
        var claimed = (await Store.ClaimAsync(TestJobs.Claim(lease: TimeSpan.FromSeconds(10)), null)).Jobs;
        (await Store.CancelAsync(claimed[1].Id, ct)).Should().Be("default");
        var lost = claimed[2].Lease with { Token = 1 };

        _time.Advance(TimeSpan.FromSeconds(9));
        var checks = await Store.HeartbeatAsync([claimed[0].Lease, claimed[1].Lease, lost], TimeSpan.FromSeconds(10));
        checks.Should().BeEquivalentTo([new LeaseCheck(claimed[1].Lease, Cancelled: true), new LeaseCheck(lost, Cancelled: false)]);

        _time.Advance(TimeSpan.FromSeconds(9));
        var rescue = await Store.RescueExpiredAsync(new RescueRequest([], TimeSpan.FromSeconds(10), 3));
        rescue.Should().Be(new RescueResult(1, 0, 0), "only the run that was not heartbeated expired");
        (await Store.RetryAsync(claimed[1].Id, ct)).Should().BeNull("a cancelled run's handler still holds its lease");
        (await Store.ReleaseCancelledAsync(claimed[1].Lease)).Should().BeTrue();
        (await Store.RetryAsync(claimed[1].Id, ct)).Should().Be("default");
        (await Store.GetJobAsync(claimed[1].Id, ct))!.Summary.Should().Match<JobSummary>(s => s.State == JobState.Ready && s.Attempts == 0 && s.FinishedAt == null);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Rescue_CountsStartedRuns_ReleasesUnstarted_AndMakesPoisonDead(CancellationToken ct)
    {
        await Store.EnqueueAsync([TestJobs.New(), TestJobs.New(), TestJobs.New()], ct);
        var claimed = (await Store.ClaimAsync(TestJobs.Claim(startNow: 2, lease: TimeSpan.FromSeconds(5)), null)).Jobs;
        await Store.MarkStartedAsync(claimed[1].Lease with { Token = 5 }); // a stale mark changes nothing
        _time.Advance(TimeSpan.FromSeconds(6));

        var held = await Store.RescueExpiredAsync(new RescueRequest([claimed[0].Lease], TimeSpan.FromSeconds(5), MaxRescues: 0));

        held.Should().Be(new RescueResult(Rescued: 1, Released: 1, Dead: 1), "the held lease is extended; the started run is poison at 0 rescues allowed; the unstarted one is released");
        (await Store.GetJobAsync(claimed[0].Id, ct))!.Summary.State.Should().Be(JobState.Running);
        var dead = await Store.GetJobAsync(claimed[1].Id, ct);
        dead!.Summary.State.Should().Be(JobState.Dead);
        dead.Summary.LastError.Should().StartWith("Poison");
        dead.Attempts.Should().ContainSingle().Which.Outcome.Should().Be("rescued");
        var released = await Store.GetJobAsync(claimed[2].Id, ct);
        released!.Summary.Should().Match<JobSummary>(s => s.State == JobState.Ready && s.Attempts == 0 && s.Rescues == 0);
        released.Attempts.Should().ContainSingle().Which.Outcome.Should().Be("released");
        var again = (await Store.ClaimAsync(TestJobs.Claim(startNow: 0), null)).Jobs.Should().ContainSingle().Subject;
        again.RescuesUnstarted.Should().Be(1);
        again.WasRescued.Should().BeTrue();
        again.HandlerStarted.Should().BeFalse();
        await Store.MarkStartedAsync(again.Lease);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task UniqueKeys_ReturnTheExistingJob_AlsoWithinOneBatch(CancellationToken ct)
    {
        var first = await Store.EnqueueAsync([TestJobs.New(uniqueKey: "a"), TestJobs.New(uniqueKey: "a"), TestJobs.New(uniqueKey: "a", kind: "other"), TestJobs.New()], ct);
        first[0].Inserted.Should().BeTrue();
        first[1].Should().Be(new EnqueueResult(first[0].JobId, Inserted: false));
        first[2].Inserted.Should().BeTrue("the key is unique within its kind");

        var second = await Store.EnqueueAsync([TestJobs.New(uniqueKey: "a"), TestJobs.New(uniqueKey: "b")], ct);
        second[0].Should().Be(new EnqueueResult(first[0].JobId, Inserted: false));
        second[1].Inserted.Should().BeTrue();

        var page = await Store.GetJobsAsync(new JobQuery(JobState.Ready, UniqueKey: "a"), ct);
        page.Jobs.Select(j => j.Id).Should().Equal(first[0].JobId, first[2].JobId);
        (await Store.GetJobsAsync(new JobQuery(JobState.Ready, Kind: "other"), ct)).Jobs.Should().ContainSingle();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Purge_DeletesFinishedJobsOlderThanTheAge_WithTheirAttempts(CancellationToken ct)
    {
        await Store.EnqueueAsync([TestJobs.New(), TestJobs.New(), TestJobs.New()], ct);
        var claimed = (await Store.ClaimAsync(TestJobs.Claim(), null)).Jobs;
        await Store.FailAsync(claimed[0].Lease, new JobFailure(1, claimed[0].StartedAt, true, TimeSpan.Zero, "E", "m", null));
        await Store.FailAsync(claimed[1].Lease, new JobFailure(1, claimed[1].StartedAt, true, TimeSpan.Zero, "E", "m", null));
        _time.Advance(TimeSpan.FromHours(1));
        await Store.FailAsync(claimed[2].Lease, new JobFailure(1, claimed[2].StartedAt, true, TimeSpan.Zero, "E", "m", null));

        (await Store.PurgeBatchAsync(JobState.Dead, TimeSpan.FromMinutes(30), 1, ct)).Should().Be(1);
        (await Store.PurgeBatchAsync(JobState.Dead, TimeSpan.FromMinutes(30), 10, ct)).Should().Be(1);
        (await Store.PurgeBatchAsync(JobState.Dead, TimeSpan.FromMinutes(30), 10, ct)).Should().Be(0);
        (await Store.PurgeBatchAsync(JobState.Dead, TimeSpan.Zero, 10, ct)).Should().Be(1);
        (await Store.GetCountsAsync(null, ct)).Should().BeEmpty();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Pages_GoByAscendingId(CancellationToken ct)
    {
        var ids = (await Store.EnqueueAsync([.. Enumerable.Range(0, 5).Select(i => TestJobs.New(queue: i % 2 == 0 ? "a" : "b"))], ct)).Select(r => r.JobId).ToList();

        var first = await Store.GetJobsAsync(new JobQuery(JobState.Ready, PageSize: 2), ct);
        var second = await Store.GetJobsAsync(new JobQuery(JobState.Ready, AfterId: first.NextAfterId, PageSize: 2), ct);
        var last = await Store.GetJobsAsync(new JobQuery(JobState.Ready, AfterId: second.NextAfterId, PageSize: 2), ct);

        first.Jobs.Select(j => j.Id).Concat(second.Jobs.Select(j => j.Id)).Concat(last.Jobs.Select(j => j.Id)).Should().Equal(ids);
        last.NextAfterId.Should().BeNull();
        (await Store.GetJobsAsync(new JobQuery(JobState.Ready, Queue: "b"), ct)).Jobs.Should().HaveCount(2);
        (await Store.GetCountsAsync("a", ct)).Should().Equal(new QueueStateCount("a", JobState.Ready, 3));
    }
}
