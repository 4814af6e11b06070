using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

public sealed class SingleFlightTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Stampede_ThousandReadersAfterInvalidation_CauseExactlyOneLoad(CancellationToken cancellationToken)
    {
        var loads = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cache = new LadderCache(new LadderCachingOptions().View<string, string>("page", view => view
            .DependsOn("player", "mmr")
            .Load(async (key, _) =>
            {
                var n = Interlocked.Increment(ref loads);
                if (n > 1)
                {
                    await release.Task;
                }

                return $"{key}#{n}";
            })));
        var page = cache.View<string, string>("page");
        await page.GetAsync("top", cancellationToken);
        cache.Publish(new Change("player", "1", "mmr"));

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = 0;
        var readers = Enumerable.Range(0, 1000).Select(_ => Task.Run(
            async () =>
            {
                await start.Task;
                Interlocked.Increment(ref entered);
                return await page.GetAsync("top", cancellationToken);
            },
            cancellationToken)).ToArray();
        start.SetResult();
        await Wait.UntilAsync(() => Volatile.Read(ref entered) == 1000, "all readers started", cancellationToken);
        release.SetResult();

        var values = await Task.WhenAll(readers);
        values.Should().AllBe("top#2");
        loads.Should().Be(2, "one initial load and exactly one after the invalidation");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Stampede_SyncReaders_ShareOneLoad(CancellationToken cancellationToken)
    {
        var loads = 0;
        using var release = new ManualResetEventSlim();
        using var cache = new LadderCache(new LadderCachingOptions().View<string, int>("page", view => view
            .DependsOn("player")
            .Load(_ =>
            {
                var n = Interlocked.Increment(ref loads);
                release.Wait(TimeSpan.FromSeconds(30));
                return n;
            })));
        var page = cache.View<string, int>("page");

        using var ready = new CountdownEvent(32);
        var threads = Enumerable.Range(0, 32).Select(_ => Task.Factory.StartNew(
            () =>
            {
                ready.Signal();
                return page.Get("top");
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        ready.Wait(cancellationToken);
        await Wait.UntilAsync(() => Volatile.Read(ref loads) == 1, "the load started", cancellationToken);
        release.Set();

        (await Task.WhenAll(threads)).Should().AllBeEquivalentTo(1);
        loads.Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ReadersOfDifferentKeys_LoadIndependently(CancellationToken cancellationToken)
    {
        var loads = 0;
        using var cache = new LadderCache(new LadderCachingOptions().View<string, string>("page", view => view
            .DependsOn("player")
            .Load(key => { Interlocked.Increment(ref loads); return key; })));
        var page = cache.View<string, string>("page");

        var values = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => page.GetAsync($"k{i % 5}", cancellationToken).AsTask()));

        values.Should().HaveCount(50);
        loads.Should().Be(5);
    }
}
