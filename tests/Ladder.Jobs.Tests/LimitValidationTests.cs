using Ladder.Jobs.Tests.Support;

namespace Ladder.Jobs.Tests;

/// <summary>Invalid concurrency keys and rate limits are refused with a clear error, and nothing is written.</summary>
public sealed class LimitValidationTests : TempFolderTests
{
    private JobQueue Open() => JobQueue.Open(TestOptions.For(Folder.File("jobs.db")));

    [TestCase("", 1, "ConcurrencyKey must not be empty")]
    [TestCase(" ", 1, "ConcurrencyKey must not be empty")]
    [TestCase("k", 0, "ConcurrencyLimit must be 1..10000")]
    [TestCase("k", 10_001, "ConcurrencyLimit must be 1..10000")]
    [TestCase(null, 2, "ConcurrencyLimit needs a ConcurrencyKey")]
    [CancelAfter(60_000)]
    public async Task Enqueue_WithAnInvalidKeyOrLimit_IsRefused_AndInsertsNothing(string? key, int limit, string message)
    {
        await using var queue = Open();

        var enqueue = () => queue.EnqueueAsync(new JobRequest("echo", "{}", new JobOptions { ConcurrencyKey = key, ConcurrencyLimit = limit }));

        (await enqueue.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain(message);
        (await queue.GetTotalsAsync()).Values.Sum().Should().Be(0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Enqueue_WithATooLongKey_IsRefused()
    {
        await using var queue = Open();

        var enqueue = () => queue.EnqueueAsync(new JobRequest("echo", "{}", new JobOptions { ConcurrencyKey = new string('k', JobOptions.MaxConcurrencyKeyLength + 1) }));

        (await enqueue.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("at most 200 characters");
    }

    [TestCase(RateLimitScope.Queue, "", 5, 1000, "needs the name")]
    [TestCase(RateLimitScope.Queue, "q", 0, 1000, "MaxStarts must be 1..100000")]
    [TestCase(RateLimitScope.ConcurrencyKey, "k", 100_001, 1000, "MaxStarts must be 1..100000")]
    [TestCase(RateLimitScope.Queue, "q", 5, 5, "Window must be 10 ms")]
    [TestCase(RateLimitScope.Queue, "q", 5, 90_000_000, "Window must be 10 ms")]
    [TestCase((RateLimitScope)7, "q", 5, 1000, "Unknown rate-limit scope 7")]
    [CancelAfter(60_000)]
    public async Task SetRateLimit_Invalid_IsRefused_AndStoresNothing(RateLimitScope scope, string name, int maxStarts, int windowMs, string message)
    {
        await using var queue = Open();

        var set = () => queue.SetRateLimitAsync(new JobRateLimit(scope, name, maxStarts, TimeSpan.FromMilliseconds(windowMs)));

        (await set.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain(message);
        (await queue.GetRateLimitsAsync()).Should().BeEmpty();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SetRateLimit_TwiceForOneName_ReplacesIt()
    {
        await using var queue = Open();

        await queue.SetRateLimitAsync(new JobRateLimit(RateLimitScope.Queue, "q", 5, TimeSpan.FromSeconds(1)));
        await queue.SetRateLimitAsync(new JobRateLimit(RateLimitScope.Queue, "q", 9, TimeSpan.FromSeconds(2)));

        (await queue.GetRateLimitsAsync()).Should().Equal(new JobRateLimit(RateLimitScope.Queue, "q", 9, TimeSpan.FromSeconds(2)));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task GetConcurrencyKeys_OutOfRange_IsRefused()
    {
        await using var queue = Open();

        await FluentActions.Awaiting(() => queue.GetConcurrencyKeysAsync(0)).Should().ThrowAsync<ArgumentOutOfRangeException>();
    }
}
