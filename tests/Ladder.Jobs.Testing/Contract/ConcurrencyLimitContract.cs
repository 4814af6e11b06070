namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// Concurrency keys, enforced by the store when it claims: at most a key's limit of its jobs run at once, across queues and
/// hosts; the others are skipped (no attempt spent) and never hold back other keys or jobs without a key; limited jobs are
/// never claimed ahead.
/// </summary>
public abstract class ConcurrencyLimitContract : LimitsContractBase
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_StartsAtMostTheKeysLimit_AndTheOthersWaitWithoutSpendingAttempts()
    {
        var store = await OpenStoreAsync();
        var a = await EnqueueAsync(store, [.. Enumerable.Range(0, 5).Select(_ => Job("player:a", 2))]);
        var b = await EnqueueAsync(store, Job("player:b", 1), Job("player:b", 1));
        var plain = await EnqueueAsync(store, Job());

        var first = await ClaimAsync(store, 10);
        var second = await ClaimAsync(store, 10);

        first.Jobs.Select(j => j.Id).Should().BeEquivalentTo([a[0], a[1], b[0], plain[0]], "two of a, one of b, and the job without a key");
        first.Jobs.Should().OnlyContain(j => j.HandlerStarted);
        first.Jobs.Where(j => j.Id != plain[0]).Should().OnlyContain(j => j.Limited);
        second.Jobs.Should().BeEmpty("every key has its limit running");
        second.HeldBack.Should().BeGreaterThanOrEqualTo(2, "both keys were seen full");
        second.NextRunIn.Should().BeNull("a held-back job waits for a run of its key to end, not for a time");
        foreach (var waiting in a[2..].Concat(b[1..]))
        {
            var job = (await store.GetJobAsync(waiting, CancellationToken.None))!;
            job.Summary.State.Should().Be(JobState.Ready);
            job.Summary.Attempts.Should().Be(0, "a job held back by its key is not claimed, so it spends no attempt");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_AfterARunOfTheKeyEnds_StartsTheNextJobOfThatKeyOnly()
    {
        var store = await OpenStoreAsync();
        var a = await EnqueueAsync(store, [.. Enumerable.Range(0, 4).Select(_ => Job("a", 2))]);
        var held = (await ClaimAsync(store, 10)).Jobs;
        held.Select(j => j.Id).Should().Equal(a[0], a[1]);

        (await store.CompleteAsync(held[0].Lease)).Should().BeTrue();
        var next = await ClaimAsync(store, 10);
        (await store.FailAsync(held[1].Lease, new JobFailure(1, held[1].StartedAt, false, TimeSpan.Zero, "E", "boom", null))).Should().Be(FailOutcome.Retrying);
        var afterFail = await ClaimAsync(store, 10);

        next.Jobs.Select(j => j.Id).Should().Equal(a[2]);
        afterFail.Jobs.Select(j => j.Id).Should().Equal([a[1]], "the retried job comes first in claim order, and one slot was free");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_SkipsAFullKey_WithoutBlockingOtherKeysOrJobsBehindIt()
    {
        var store = await OpenStoreAsync();

        // 300 jobs of a full key ahead of everything (higher priority, enqueued first): the claim skips them all.
        await EnqueueAsync(store, [.. Enumerable.Range(0, 300).Select(_ => Job("hot", 1, priority: 5))]);
        var hot = (await ClaimAsync(store, 1)).Jobs.Should().ContainSingle().Subject;
        var others = await EnqueueAsync(store, Job("cold", 1), Job(), Job("other", 3));

        var batch = await ClaimAsync(store, 10);

        hot.Limited.Should().BeTrue();
        batch.Jobs.Select(j => j.Id).Should().BeEquivalentTo(others, "a full key holds back only its own jobs");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_CountsAKeysRunningJobsAcrossQueues()
    {
        var store = await OpenStoreAsync();
        var inFirst = await EnqueueAsync(store, Job("tenant:1", 1, queue: "first"));
        var inSecond = await EnqueueAsync(store, Job("tenant:1", 1, queue: "second"));

        var first = await ClaimAsync(store, 5, queue: "first");
        var second = await ClaimAsync(store, 5, queue: "second");
        await store.CompleteAsync(first.Jobs[0].Lease);
        var afterwards = await ClaimAsync(store, 5, queue: "second");

        first.Jobs.Select(j => j.Id).Should().Equal(inFirst);
        second.Jobs.Should().BeEmpty("the key's one slot is taken by a job of another queue");
        afterwards.Jobs.Select(j => j.Id).Should().Equal(inSecond);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_Ahead_TakesKeyedJobsWithinTheirLimit_AndTheyHoldTheKeysSlots()
    {
        var store = await OpenStoreAsync();
        var keyed = await EnqueueAsync(store, Job("a", 2), Job("a", 2), Job("a", 2));
        var plain = await EnqueueAsync(store, Job(), Job());

        var ahead = await ClaimAsync(store, 10, startNow: 0);
        var now = await ClaimAsync(store, 10, startNow: 5);

        ahead.Jobs.Select(j => j.Id).Should().BeEquivalentTo([.. plain, keyed[0], keyed[1]], "a claim ahead takes keyed jobs too, within their key's limit");
        ahead.Jobs.Should().OnlyContain(j => !j.HandlerStarted);
        now.Jobs.Should().BeEmpty("the two jobs claimed ahead hold the key's two slots until they run or are given back");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Claim_WithManyKeys_VisitsThemRoundRobin_SoEveryKeyGetsItsTurn()
    {
        var store = await OpenStoreAsync();

        // More keys than one claim visits: successive claims go on where the last one stopped.
        var ids = await EnqueueAsync(store, [.. Enumerable.Range(0, 150).Select(i => Job($"k{i:D3}", 1))]);
        var seen = new List<long>();
        for (var claim = 0; claim < 40 && seen.Count < ids.Length; claim++)
        {
            var batch = await ClaimAsync(store, 4);
            seen.AddRange(batch.Jobs.Select(j => j.Id));
            if (batch.Jobs.Count < 4 && seen.Count < ids.Length)
            {
                batch.NextRunIn.Should().NotBeNull("the claim stopped before visiting every key, and says to go on at once");
            }
        }

        seen.Should().BeEquivalentTo(ids, "every key's job was claimed within 40 claims of 4");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Claim_FromKeysWithFewerRunnableJobsThanTheirRoom_GoesOnToFurtherKeysUntilItHasEnough()
    {
        var store = await OpenStoreAsync();

        // 60 keys with limit 4: each has one job runnable and three an hour ahead, so a claim of 20 finds one job a key,
        // not the four its room promised, and must walk on to further keys.
        var runnable = new List<long>();
        foreach (var i in Enumerable.Range(0, 60))
        {
            var key = $"k{i:D2}";
            runnable.AddRange(await EnqueueAsync(store, Job(key, 4)));
            await EnqueueAsync(store, [.. Enumerable.Range(0, 3).Select(_ => Job(key, 4) with { Delay = TimeSpan.FromHours(1) })]);
        }

        var first = await ClaimAsync(store, 20);
        var second = await ClaimAsync(store, 20);
        var third = await ClaimAsync(store, 20);
        var fourth = await ClaimAsync(store, 20);

        first.Jobs.Should().HaveCount(20, "20 keys each had a runnable job, though each promised room for 4");
        first.Jobs.Select(j => j.Id).Should().OnlyContain(id => runnable.Contains(id), "a job an hour ahead is not runnable");
        second.Jobs.Should().HaveCount(20);
        third.Jobs.Should().HaveCount(20);
        first.Jobs.Concat(second.Jobs).Concat(third.Jobs).Select(j => j.Id).Should().BeEquivalentTo(runnable, "every key's runnable job, each once");
        fourth.Jobs.Should().BeEmpty("nothing else is runnable");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_InAQueueWithKeyedJobsWaiting_TakesItsJobsWithoutAKeyOnceRunnable()
    {
        var store = await OpenStoreAsync();
        var keyed = await EnqueueAsync(store, Job("k", 1), Job("k", 1));
        var later = await EnqueueAsync(store, Job() with { Delay = TimeSpan.FromHours(1) });

        var first = await ClaimAsync(store, 10);
        var now = await EnqueueAsync(store, Job());
        var second = await ClaimAsync(store, 10);
        Time.Advance(TimeSpan.FromHours(1));
        var third = await ClaimAsync(store, 10);

        first.Jobs.Select(j => j.Id).Should().Equal([keyed[0]], "the key's second job waits for its first, and the job without a key for its hour");
        second.Jobs.Select(j => j.Id).Should().Equal(now, "a job without a key, runnable now, is claimed while the key's job is held back");
        third.Jobs.Select(j => j.Id).Should().Equal(later, "the job without a key, an hour later");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Claim_AfterAClaimFromRoomyKeys_StillWalksPastAStretchOfFullKeysToTheKeysWithRoom()
    {
        var store = await OpenStoreAsync();

        // k03..k29 (limit 1) each have a job running, in another queue; the default queue waits with 10 jobs of each of
        // k00 and k01 (limit 10), one job of each full key, and one job of each of k30..k49 (limit 1, free).
        var full = Enumerable.Range(3, 27).Select(i => $"k{i:D2}").ToArray();
        await EnqueueAsync(store, [.. full.Select(key => Job(key, 1, queue: "other"))]);
        (await ClaimAsync(store, 27, queue: "other")).Jobs.Should().HaveCount(27);
        var roomy = await EnqueueAsync(store, [.. Enumerable.Range(0, 20).Select(i => Job(i < 10 ? "k00" : "k01", 10))]);
        await EnqueueAsync(store, [.. full.Select(key => Job(key, 1))]);
        var free = await EnqueueAsync(store, [.. Enumerable.Range(30, 20).Select(i => Job($"k{i:D2}", 1))]);

        // The first claim takes 10 jobs a key; the next one's first keys are all full, and it must walk on past them.
        var first = await ClaimAsync(store, 20);
        var second = await ClaimAsync(store, 20);

        first.Jobs.Select(j => j.Id).Should().BeEquivalentTo(roomy, "k00 and k01 each had room for their 10 jobs");
        second.Jobs.Select(j => j.Id).Should().BeEquivalentTo(free, "27 full keys (within the claim's 20 + 32 keys) lie between the cursor and the keys with room");
        second.HeldBack.Should().BeGreaterThanOrEqualTo(27, "each full key's waiting job was held back");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Claim_WhenEveryKeyIsFull_AndThereAreMoreKeysThanAClaimVisits_StopsSayingClaimAgainAtOnce()
    {
        var store = await OpenStoreAsync();

        // 40 keys with limit 1, each with one job running and one waiting; a claim of 4 visits at most 4 + 32 keys.
        await EnqueueAsync(store, [.. Enumerable.Range(0, 40).SelectMany(i => new[] { Job($"k{i:D2}", 1), Job($"k{i:D2}", 1) })]);
        (await ClaimAsync(store, 40)).Jobs.Should().HaveCount(40, "one job of each key");

        // Two claims of 4 visit every key once (36 + 4); a processor with free slots claims again after 1 ms whenever a
        // claim says zero, so claims that keep saying it, with nothing startable, are a hot loop (lock, walk, commit).
        var claims = new List<ClaimBatch>();
        for (var i = 0; i < 4; i++)
        {
            claims.Add(await ClaimAsync(store, 4));
        }

        claims.Should().OnlyContain(c => c.Jobs.Count == 0, "every key has its limit running");
        claims.Select(c => c.NextRunIn).Should().Contain((TimeSpan?)null,
            "after every key was visited with none startable, the processor should wait for a run to end, not claim again at once, forever");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_GivenBackOrRescued_FreesTheSlot_AndRefundsTheAttempt()
    {
        var store = await OpenStoreAsync();
        var ids = await EnqueueAsync(store, Job("a", 1), Job("a", 1));
        var first = (await ClaimAsync(store, 5)).Jobs.Single();
        (await store.GiveBackAsync(first.Lease)).Should().BeTrue();
        var again = (await ClaimAsync(store, 5)).Jobs.Single();
        Time.Advance(TimeSpan.FromMinutes(2));
        (await store.RescueExpiredAsync(new RescueRequest([], TimeSpan.FromMinutes(1), 5))).Rescued.Should().Be(1);
        var third = (await ClaimAsync(store, 5)).Jobs.Single();

        first.Id.Should().Be(ids[0]);
        again.Id.Should().Be(ids[0]);
        again.Attempt.Should().Be(1, "the give-back refunded the attempt");
        third.Id.Should().Be(ids[0]);
        third.Attempt.Should().Be(1, "the rescue refunded the attempt");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ConcurrentClaimers_OnTwoStoresOfOneFile_NeverStartMoreThanTheLimit()
    {
        var store = await OpenStoreAsync();
        var sibling = await OpenSiblingStoreAsync(store);
        await EnqueueAsync(store, [.. Enumerable.Range(0, 60).Select(i => Job("k" + (i % 3), 2))]);
        using var gate = new SemaphoreSlim(0);
        var claims = Enumerable.Range(0, 16).Select(async i =>
        {
            await gate.WaitAsync();
            return await ClaimAsync(i % 2 == 0 ? store : sibling, 4);
        }).ToList();
        gate.Release(16);

        var claimed = (await Task.WhenAll(claims)).SelectMany(b => b.Jobs).ToList();

        claimed.Should().HaveCount(6, "three keys with two slots each, however the claims interleave");
        claimed.Select(j => j.Id).Should().OnlyHaveUniqueItems();
        var keys = await store.GetConcurrencyKeysAsync(10, CancellationToken.None);
        keys.Should().BeEquivalentTo([new ConcurrencyKeyUsage("k0", 2, 2, 18), new ConcurrencyKeyUsage("k1", 2, 2, 18), new ConcurrencyKeyUsage("k2", 2, 2, 18)]);
    }
}
