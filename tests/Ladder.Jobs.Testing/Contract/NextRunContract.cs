using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// What an idle claim says about the queue's next runnable job: the earliest run time of its claimable jobs without a
/// key, over every priority (the stores find it by a skip scan over the priorities of the claim index, so the earliest
/// job is often not the first entry of that index), leaving out keyed jobs, running jobs and other queues.
/// </summary>
public abstract class NextRunContract : JobStoreContract
{
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Test]
    [CancelAfter(60_000)]
    public async Task IdleClaim_ReportsTheEarliestRunAtOverEveryPriority_NotTheHighestPrioritysFirst()
    {
        // Leases outlast the test's clock steps: a claimed job stays running, so each step claims one new job.
        await using var queue = await OpenAsync(o => o.LeaseDuration = TimeSpan.FromHours(2), _time);
        await EnqueueEarliestInLowerPrioritiesAsync(queue);

        // The claim takes the job due now (priority 9), then says when the next one is due: priority -3's, 3 minutes on.
        // Each step runs the clock to that job, claims it, and the next answer is the earliest of what is left.
        var seen = new List<(int Taken, TimeSpan? Next)>();
        for (var step = 0; step < 8; step++)
        {
            var batch = await queue.ClaimAsync("default", 10);
            seen.Add((batch.Jobs.Count, batch.NextRunIn));
            if (batch.NextRunIn is { } next)
            {
                _time.Advance(next);
            }
        }

        seen.Should().Equal(
            (1, TimeSpan.FromMinutes(3)),
            (1, TimeSpan.FromMinutes(2)),
            (1, TimeSpan.FromMinutes(5)),
            (1, TimeSpan.FromMinutes(10)),
            (1, TimeSpan.FromMinutes(20)),
            (1, TimeSpan.FromMinutes(10)),
            (1, TimeSpan.FromMinutes(10)),
            (1, (TimeSpan?)null));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task IdleClaim_LeavesOutKeyedJobsOtherQueuesAndRunningJobs()
    {
        await using var queue = await OpenAsync(o => o.Queues["other"] = 1, _time);
        await EnqueueEarliestInLowerPrioritiesAsync(queue);
        await queue.EnqueueAsync(new Echo(10), new JobOptions { Queue = "other", Delay = TimeSpan.FromSeconds(30), Priority = 1 });
        await queue.EnqueueAsync(new Echo(11), new JobOptions { Delay = TimeSpan.FromSeconds(40), Priority = 1, ConcurrencyKey = "k", ConcurrencyLimit = 1 });
        await queue.EnqueueAsync(new Echo(12), new JobOptions { Delay = TimeSpan.FromSeconds(50), Priority = -3, ConcurrencyKey = "k", ConcurrencyLimit = 1 });

        var first = await queue.ClaimAsync("default", 10);
        _time.Advance(TimeSpan.FromMinutes(3));
        var second = await queue.ClaimAsync("default", 10);

        first.Jobs.Should().ContainSingle("the job due now; the one running is left out of the next time");
        first.NextRunIn.Should().Be(TimeSpan.FromMinutes(3), "keyed jobs and the other queue's job, though earlier, are left out");

        // A queue seen with keyed jobs is claimed by the limited claim (PostgreSQL answers the next time in that statement).
        second.Jobs.Select(j => j.Priority).Should().Equal([1, -3], "the first job of key k, then the job without a key due now");
        second.NextRunIn.Should().Be(TimeSpan.FromMinutes(2), "the other job of key k waits for k's run to end, not for a time");
    }

    // Due: now (priority 9), in 3 minutes (-3), 5 minutes (0), 10 minutes (2), 20 minutes (5), 40 minutes (9): the
    // earliest job of each priority after the first is due before that of every higher one.
    private static async Task EnqueueEarliestInLowerPrioritiesAsync(JobQueue queue)
    {
        foreach (var (priority, minutes) in ((int, int)[])[(9, 0), (9, 40), (5, 20), (5, 60), (2, 10), (0, 5), (0, 50), (-3, 3)])
        {
            await queue.EnqueueAsync(new Echo(priority), new JobOptions { Priority = priority, Delay = TimeSpan.FromMinutes(minutes) });
        }
    }
}
