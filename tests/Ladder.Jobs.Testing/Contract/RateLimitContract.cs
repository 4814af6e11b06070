namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// Rate limits per queue or per concurrency key, enforced by the store when it claims: at most MaxStarts claims in any
/// window, across hosts; a rate-limited queue is never claimed ahead; the claim says when the window reopens.
/// </summary>
public abstract class RateLimitContract : LimitsContractBase
{
    [Test]
    [CancelAfter(60_000)]
    public async Task QueueRateLimit_AllowsMaxStartsPerWindow_AndReportsWhenTheWindowReopens()
    {
        var store = await OpenStoreAsync();
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
        var store = await OpenStoreAsync();
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
        var store = await OpenStoreAsync();
        var sibling = await OpenSiblingStoreAsync(store);
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
