using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>Counts by queue and state, paging, cancel and retry of queued jobs, retention and purge.</summary>
public abstract class InspectionContract : JobStoreContract
{
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private Task<JobQueue> Open(Action<LadderJobsOptions>? configure = null) => OpenAsync(configure, _time);

    [Test]
    [CancelAfter(60_000)]
    public async Task Counts_AreGroupedByQueueAndState(CancellationToken ct)
    {
        await using var queue = await Open();
        await queue.EnqueueBatchAsync([JobRequest.For(new Echo(1)), JobRequest.For(new Echo(2)), JobRequest.For(new Echo(3), new JobOptions { Queue = "replays" })], ct);
        await queue.EnqueueAsync(new Echo(4), new JobOptions { Delay = TimeSpan.FromHours(1) }, ct);
        var claimed = (await queue.ClaimAsync("default", 1)).Jobs.Single();
        await queue.CompleteAsync(claimed);

        var counts = await queue.GetCountsAsync(ct);

        counts.Should().Equal(
            new QueueStateCount("default", JobState.Scheduled, 1),
            new QueueStateCount("default", JobState.Ready, 1),
            new QueueStateCount("default", JobState.Succeeded, 1),
            new QueueStateCount("replays", JobState.Ready, 1));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StoreTotals_EqualTheCountsSummedOverQueues_WithEveryStateListed(CancellationToken ct)
    {
        await using var queue = await Open();
        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 6).Select(i => JobRequest.For(new Echo(i), new JobOptions { Queue = i % 2 == 0 ? "a" : "b" }))], ct);
        await queue.EnqueueAsync(new Echo(6), new JobOptions { Queue = "b", Delay = TimeSpan.FromHours(1) }, ct);
        var fromA = (await queue.ClaimAsync("a", 3)).Jobs;
        await queue.CompleteAsync(fromA[0]);
        await queue.FailAsync(fromA[1], new InvalidOperationException("dead"), permanent: true);
        await queue.FailAsync(fromA[2], new InvalidOperationException("again"), permanent: false);
        var fromB = (await queue.ClaimAsync("b", 2)).Jobs;
        await queue.CancelAsync((await queue.GetJobsAsync(JobState.Ready, "b", cancellationToken: ct)).Jobs.Single().Id, ct);

        var totals = await queue.Store.GetTotalsAsync(ct);

        var summed = Enum.GetValues<JobState>().ToDictionary(static s => s, static _ => 0L);
        foreach (var count in await queue.GetCountsAsync(ct))
        {
            summed[count.State] += count.Count;
        }

        totals.Should().Equal(summed);
        fromB.Should().HaveCount(2);
        (totals[JobState.Running], totals[JobState.Succeeded], totals[JobState.Dead], totals[JobState.Failed], totals[JobState.Cancelled], totals[JobState.Scheduled], totals[JobState.Ready])
            .Should().Be((2L, 1L, 1L, 1L, 1L, 1L, 0L));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task GetJobs_PagesThroughAStateByAscendingId(CancellationToken ct)
    {
        await using var queue = await Open();
        var ids = (await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 25).Select(i => JobRequest.For(new Echo(i)))], ct)).Select(r => r.JobId).ToList();

        var seen = new List<long>();
        long? after = null;
        var pages = 0;
        do
        {
            var page = await queue.GetJobsAsync(JobState.Ready, "default", after, pageSize: 10, ct);
            seen.AddRange(page.Jobs.Select(j => j.Id));
            after = page.NextAfterId;
            pages++;
        }
        while (after is not null);

        seen.Should().Equal(ids);
        pages.Should().Be(3);
        (await queue.GetJobsAsync(JobState.Ready, "other", cancellationToken: ct)).Jobs.Should().BeEmpty();
        (await queue.GetJobAsync(123456, ct)).Should().BeNull();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Cancel_QueuedJob_IsNeverClaimed_AndRetryBringsItBack(CancellationToken ct)
    {
        await using var queue = await Open();
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;

        (await queue.CancelAsync(id, ct)).Should().BeTrue();
        (await queue.ClaimAsync("default", 10)).Jobs.Should().BeEmpty();
        (await queue.RetryAsync(id, ct)).Should().BeTrue();
        (await queue.ClaimAsync("default", 10)).Jobs.Single().Id.Should().Be(id);
        (await queue.CancelAsync(999, ct)).Should().BeFalse();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Retention_DeletesFinishedJobsPastTheirTtl_AndKeepsTheRest(CancellationToken ct)
    {
        await using var queue = await Open(o =>
        {
            o.SucceededRetention = TimeSpan.FromHours(1);
            o.DeadRetention = TimeSpan.FromHours(10);
            o.CancelledRetention = TimeSpan.FromHours(1);
        });
        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 1500).Select(i => JobRequest.For(new Echo(i)))], ct);
        var deadId = (await queue.EnqueueAsync(new Echo(-1), new JobOptions { Queue = "other" }, ct)).JobId;
        var cancelledId = (await queue.EnqueueAsync(new Echo(-2), new JobOptions { Queue = "other" }, ct)).JobId;
        var pendingId = (await queue.EnqueueAsync(new Echo(-3), new JobOptions { Queue = "other" }, ct)).JobId;
        while ((await queue.ClaimAsync("default", 500)).Jobs is { Count: > 0 } jobs)
        {
            foreach (var job in jobs)
            {
                await queue.CompleteAsync(job);
            }
        }

        var toKill = (await queue.ClaimAsync("other", 1)).Jobs.Single();
        await queue.FailAsync(toKill, new InvalidOperationException("x"), permanent: true);
        await queue.CancelAsync(cancelledId, ct);

        (await queue.ApplyRetentionAsync(ct)).Should().Be(0, "nothing is old enough yet");
        _time.Advance(TimeSpan.FromHours(2));
        (await queue.ApplyRetentionAsync(ct)).Should().Be(1501, "succeeded and cancelled are past their 1 h TTL, in batches of 1000");

        (await queue.GetJobAsync(deadId, ct))!.Summary.State.Should().Be(JobState.Dead);
        (await queue.GetJobAsync(deadId, ct))!.Attempts.Should().ContainSingle();
        (await queue.GetJobAsync(pendingId, ct)).Should().NotBeNull();
        (await queue.PurgeAsync(JobState.Dead, TimeSpan.Zero, ct)).Should().Be(1);
        (await queue.GetJobAsync(deadId, ct)).Should().BeNull();
        var purgeReady = () => queue.PurgeAsync(JobState.Ready, TimeSpan.Zero, ct);
        await purgeReady.Should().ThrowAsync<ArgumentException>();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AJobId_IsNeverIssuedTwice_EvenAfterTheNewestJobsArePurged(CancellationToken ct)
    {
        // Callers keep job ids (a record that points at its job): an id that came back after a purge would point the
        // old record at somebody else's job.
        await using var queue = await Open();
        var kept = (await queue.EnqueueAsync(new Echo(1), null, ct)).JobId;
        var newest = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            var id = (await queue.EnqueueAsync(new Echo(10 + i), null, ct)).JobId;
            (await queue.CancelAsync(id, ct)).Should().BeTrue();
            newest.Add(id);
        }

        (await queue.PurgeAsync(JobState.Cancelled, TimeSpan.Zero, ct)).Should().Be(3, "the three newest jobs are gone");
        var after = (await queue.EnqueueAsync(new Echo(20), null, ct)).JobId;
        var batch = (await queue.EnqueueBatchAsync([JobRequest.For(new Echo(21)), JobRequest.For(new Echo(22))], ct)).Select(static r => r.JobId).ToList();

        after.Should().BeGreaterThan(newest.Max(), "an id purged is not issued again");
        batch.Should().OnlyContain(id => id > after);
        kept.Should().BeLessThan(newest.Min());
        (await queue.GetJobAsync(newest[0], ct)).Should().BeNull("the purged job stays gone, not replaced by a new one");
    }
}
