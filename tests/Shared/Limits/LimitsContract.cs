using Ladder.Jobs.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Limits;

/// <summary>
/// Concurrency keys and rate limits at the store seam, run unchanged against every store (a SQLite file; a PostgreSQL
/// schema in context-clock mode). Written as the store contract suite's fixtures will be: when tests/Ladder.Jobs.Testing
/// lands, this becomes its ConcurrencyLimitContract and RateLimitContract over its JobStoreFactory.
/// </summary>
public abstract class LimitsContract
{
    private readonly List<JobStore> _stores = [];

    protected FakeTimeProvider Time { get; private set; } = null!;

    /// <summary>A fresh, empty store (not opened).</summary>
    protected abstract Task<JobStore> CreateStoreAsync();

    /// <summary>Another store on the same file or schema as <paramref name="store"/> (another process's view), not opened.</summary>
    protected abstract Task<JobStore> CreateSiblingAsync(JobStore store);

    [SetUp]
    public void CreateClock() => Time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [TearDown]
    public async Task DisposeStoresAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        _stores.Clear();
    }

    protected async Task<JobStore> OpenAsync(JobStore? siblingOf = null)
    {
        var store = siblingOf is null ? await CreateStoreAsync() : await CreateSiblingAsync(siblingOf);
        _stores.Add(store);
        await store.OpenAsync(new JobStoreContext(new LadderJobsOptions { Path = "unused.db" }, Time, NullLoggerFactory.Instance, _ => { }, _ => { }), CancellationToken.None);
        return store;
    }

    protected static NewJob Job(string? key = null, int limit = 0, string queue = "default", int priority = 0) =>
        new(queue, "echo", "{}", priority, null, TimeSpan.Zero, 5, null, null, null, key, key is null ? 0 : Math.Max(1, limit));

    protected static Task<ClaimBatch> ClaimAsync(JobStore store, int limit, int? startNow = null, string queue = "default") =>
        store.ClaimAsync(new ClaimRequest(queue, limit, startNow ?? limit, TimeSpan.FromMinutes(1)), null);

    protected static async Task<long[]> EnqueueAsync(JobStore store, params NewJob[] jobs) =>
        [.. (await store.EnqueueAsync(jobs, CancellationToken.None)).Select(r => r.JobId)];

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_StartsAtMostTheKeysLimit_AndTheOthersWaitWithoutSpendingAttempts()
    {
        var store = await OpenAsync();
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
        var store = await OpenAsync();
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
        var store = await OpenAsync();

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
        var store = await OpenAsync();
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
    public async Task Claim_NeverClaimsKeyedJobsAhead()
    {
        var store = await OpenAsync();
        await EnqueueAsync(store, Job("a", 4), Job("a", 4));
        var plain = await EnqueueAsync(store, Job(), Job());

        var ahead = await ClaimAsync(store, 10, startNow: 0);
        var now = await ClaimAsync(store, 10, startNow: 1);

        ahead.Jobs.Select(j => j.Id).Should().BeEquivalentTo(plain, "a prefetch takes jobs without a key only: it never holds a key's slot");
        ahead.Jobs.Should().OnlyContain(j => !j.HandlerStarted);
        now.Jobs.Should().ContainSingle().Which.Limited.Should().BeTrue();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Claim_GivenBackOrRescued_FreesTheSlot_AndRefundsTheAttempt()
    {
        var store = await OpenAsync();
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
        var store = await OpenAsync();
        var sibling = await OpenAsync(siblingOf: store);
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

    [Test]
    [CancelAfter(60_000)]
    public async Task QueueRateLimit_AllowsMaxStartsPerWindow_AndReportsWhenTheWindowReopens()
    {
        var store = await OpenAsync();
        await store.SetRateLimitAsync(new JobRateLimit(RateLimitScope.Queue, "default", 5, TimeSpan.FromSeconds(1)), CancellationToken.None);
        await EnqueueAsync(store, [.. Enumerable.Range(0, 12).Select(_ => Job())]);

        var first = await ClaimAsync(store, 20);
        Time.Advance(TimeSpan.FromMilliseconds(400));
        var blocked = await ClaimAsync(store, 20);
        Time.Advance(TimeSpan.FromMilliseconds(600));
        var second = await ClaimAsync(store, 20);
        var ahead = await ClaimAsync(store, 20, startNow: 0);

        first.Jobs.Should().HaveCount(5);
        first.Jobs.Should().OnlyContain(j => j.HandlerStarted && j.Limited);
        blocked.Jobs.Should().BeEmpty();
        blocked.HeldBack.Should().BeGreaterThan(0);
        blocked.NextRunIn.Should().Be(TimeSpan.FromMilliseconds(600), "the window's oldest start leaves it then");
        second.Jobs.Should().HaveCount(5);
        ahead.Jobs.Should().BeEmpty("a rate-limited queue is never claimed ahead: a claim is a start");
        (await store.GetRateLimitsAsync(CancellationToken.None)).Should().Equal(new JobRateLimit(RateLimitScope.Queue, "default", 5, TimeSpan.FromSeconds(1)));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task KeyRateLimit_LimitsThatKeysStartsOnly_AndRemovingItLiftsIt()
    {
        var store = await OpenAsync();
        await store.SetRateLimitAsync(new JobRateLimit(RateLimitScope.ConcurrencyKey, "api:slow", 2, TimeSpan.FromMinutes(1)), CancellationToken.None);
        await EnqueueAsync(store, [.. Enumerable.Range(0, 5).Select(_ => Job("api:slow", 100))]);
        var fast = await EnqueueAsync(store, [.. Enumerable.Range(0, 3).Select(_ => Job("api:fast", 100))]);

        var first = await ClaimAsync(store, 20);
        var blocked = await ClaimAsync(store, 20);
        (await store.RemoveRateLimitAsync(RateLimitScope.ConcurrencyKey, "api:slow", CancellationToken.None)).Should().BeTrue();
        var lifted = await ClaimAsync(store, 20);

        first.Jobs.Should().HaveCount(5, "two of the limited key and all three of the other");
        first.Jobs.Select(j => j.Id).Should().Contain(fast);
        blocked.Jobs.Should().BeEmpty();
        lifted.Jobs.Should().HaveCount(3);
        (await store.RemoveRateLimitAsync(RateLimitScope.ConcurrencyKey, "api:slow", CancellationToken.None)).Should().BeFalse();
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task QueueRateLimit_HoldsAcrossTwoStoresClaimingAtOnce()
    {
        var store = await OpenAsync();
        var sibling = await OpenAsync(siblingOf: store);
        await store.SetRateLimitAsync(new JobRateLimit(RateLimitScope.Queue, "default", 7, TimeSpan.FromSeconds(10)), CancellationToken.None);
        await EnqueueAsync(store, [.. Enumerable.Range(0, 40).Select(_ => Job())]);
        using var gate = new SemaphoreSlim(0);
        var claims = Enumerable.Range(0, 12).Select(async i =>
        {
            await gate.WaitAsync();
            return await ClaimAsync(i % 2 == 0 ? store : sibling, 3);
        }).ToList();
        gate.Release(12);

        var claimed = (await Task.WhenAll(claims)).SelectMany(b => b.Jobs).ToList();

        claimed.Should().HaveCount(7);
    }
}
