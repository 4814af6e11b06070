using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

public sealed class FaultTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task ThrowingLoad_ReachesTheCaller_AndPoisonsNothing(CancellationToken cancellationToken)
    {
        var fail = true;
        using var cache = new LadderCache(new LadderCachingOptions().View<string, string>("page", view => view
            .DependsOn("player")
            .Load(key => fail ? throw new InvalidOperationException("database down") : key)));
        var page = cache.View<string, string>("page");

        var first = () => page.GetAsync("a", cancellationToken).AsTask();
        await first.Should().ThrowAsync<InvalidOperationException>().WithMessage("database down");
        FluentActions.Invoking(() => page.Get("a")).Should().Throw<InvalidOperationException>();

        fail = false;
        (await page.GetAsync("a", cancellationToken)).Should().Be("a");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task FailSafe_ServesLastGoodValueFlagged_WhenTheReloadThrows(CancellationToken cancellationToken)
    {
        var fail = false;
        var version = 0;
        using var cache = new LadderCache(new LadderCachingOptions().View<string, int>("page", view => view
            .DependsOn("player")
            .Load(_ => fail ? throw new InvalidOperationException("down") : ++version)
            .FailSafe()));
        var page = cache.View<string, int>("page");
        await page.GetAsync("a", cancellationToken);

        fail = true;
        cache.Publish(Change.AllOf("player"));
        var result = await page.GetResultAsync("a", cancellationToken);
        result.Value.Should().Be(1);
        result.IsFailSafe.Should().BeTrue();
        result.IsStale.Should().BeTrue();
        page.GetResult("a").IsFailSafe.Should().BeTrue();

        fail = false;
        var recovered = await page.GetResultAsync("a", cancellationToken);
        recovered.Value.Should().Be(2);
        recovered.IsStale.Should().BeFalse();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task FailSafe_WithNothingCached_LetsTheErrorThrough(CancellationToken cancellationToken)
    {
        using var cache = new LadderCache(new LadderCachingOptions().View<string, int>("page", view => view
            .DependsOn("player")
            .Load(_ => throw new InvalidOperationException("down"))
            .FailSafe()));

        var read = () => cache.View<string, int>("page").GetAsync("a", cancellationToken).AsTask();

        await read.Should().ThrowAsync<InvalidOperationException>();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task HangingLoad_TimesOut_AndReleasesEveryWaiter(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var hang = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        using var cache = new LadderCache(
            new LadderCachingOptions().View<string, string>("page", view => view
                .DependsOn("player")
                .Load((key, _) => Interlocked.Increment(ref calls) == 1 ? new ValueTask<string>(hang.Task) : new ValueTask<string>(key))
                .LoadTimeout(TimeSpan.FromSeconds(5))),
            time);
        var page = cache.View<string, string>("page");

        var waiters = Enumerable.Range(0, 10).Select(_ => page.GetAsync("a", cancellationToken).AsTask()).ToArray();
        time.Advance(TimeSpan.FromSeconds(5));

        foreach (var waiter in waiters)
        {
            var act = () => waiter;
            (await act.Should().ThrowAsync<CacheLoadTimeoutException>()).Which.Timeout.Should().Be(TimeSpan.FromSeconds(5));
        }

        (await page.GetAsync("a", cancellationToken)).Should().Be("a", "the key is free for a new load");
        hang.SetResult("late");
        calls.Should().Be(2);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task LoadHonouringItsTimeoutToken_FailsWithTheTimeout_NotWithItsOwnCancellation(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        using var cache = new LadderCache(
            new LadderCachingOptions().View<string, string>("page", view => view
                .DependsOn("player")
                .Load(async (key, ct) =>
                {
                    if (Interlocked.Increment(ref calls) > 1)
                    {
                        return key;
                    }

                    // Ends inside its token's cancellation, before the cache's own timeout callback would run.
                    var gate = new TaskCompletionSource<string>(); // Continuations inline: the loader ends within the cancel.
                    await using var registration = ct.Register(() => gate.TrySetCanceled(ct));
                    started.TrySetResult();
                    return await gate.Task;
                })
                .LoadTimeout(TimeSpan.FromSeconds(5))),
            time);
        var page = cache.View<string, string>("page");

        var waiters = Enumerable.Range(0, 4).Select(_ => page.GetAsync("a", cancellationToken).AsTask()).ToArray();
        await started.Task.WaitAsync(cancellationToken);
        time.Advance(TimeSpan.FromSeconds(5));

        foreach (var waiter in waiters)
        {
            var act = () => waiter;
            (await act.Should().ThrowAsync<CacheLoadTimeoutException>()).Which.Timeout.Should().Be(TimeSpan.FromSeconds(5));
        }

        (await page.GetAsync("a", cancellationToken)).Should().Be("a", "the key is free for a new load");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TimedOutLoad_WithFailSafe_ServesLastGoodValue(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var calls = 0;
        using var cache = new LadderCache(
            new LadderCachingOptions().View<string, int>("page", view => view
                .DependsOn("player")
                .Load(async (_, ct) =>
                {
                    if (Interlocked.Increment(ref calls) > 1)
                    {
                        await Task.Delay(Timeout.InfiniteTimeSpan, ct);
                    }

                    return calls;
                })
                .LoadTimeout(TimeSpan.FromSeconds(2))
                .FailSafe()),
            time);
        var page = cache.View<string, int>("page");
        await page.GetAsync("a", cancellationToken);
        cache.Publish(Change.AllOf("player"));

        var pending = page.GetResultAsync("a", cancellationToken).AsTask();
        time.Advance(TimeSpan.FromSeconds(2));
        var result = await pending;

        result.Value.Should().Be(1);
        result.IsFailSafe.Should().BeTrue();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task LoaderReadingItsOwnKey_FailsClearly_InsteadOfDeadlocking(CancellationToken cancellationToken)
    {
        CacheView<string, string>? page = null;
        using var cache = new LadderCache(new LadderCachingOptions().View<string, string>("page", view => view
            .DependsOn("player")
            .Load(async (key, ct) => key == "self" ? await page!.GetAsync("self", ct) : key)));
        page = cache.View<string, string>("page");

        var read = () => page.GetAsync("self", cancellationToken).AsTask();

        (await read.Should().ThrowAsync<CacheReentrancyException>()).Which.View.Should().Be("page");
        (await page.GetAsync("other", cancellationToken)).Should().Be("other");
    }

    [Test]
    [CancelAfter(60_000)]
    public void SyncLoaderReadingItsOwnKeyThroughAnotherView_FailsClearly()
    {
        CacheView<string, string>? a = null;
        CacheView<string, string>? b = null;
        using var cache = new LadderCache(new LadderCachingOptions()
            .View<string, string>("a", view => view.DependsOn("player").Load(key => b!.Get(key)))
            .View<string, string>("b", view => view.DependsOn("player").Load(key => a!.Get(key))));
        a = cache.View<string, string>("a");
        b = cache.View<string, string>("b");

        FluentActions.Invoking(() => a.Get("x")).Should().Throw<CacheReentrancyException>().Which.View.Should().Be("a");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ReaderCancellation_StopsThatReaderOnly(CancellationToken cancellationToken)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cache = new LadderCache(new LadderCachingOptions().View<string, string>("page", view => view
            .DependsOn("player")
            .Load(async (key, _) =>
            {
                await release.Task;
                return key;
            })));
        var page = cache.View<string, string>("page");
        using var impatient = new CancellationTokenSource();

        var cancelled = page.GetAsync("a", impatient.Token).AsTask();
        var patient = page.GetAsync("a", cancellationToken).AsTask();
        await impatient.CancelAsync();
        release.SetResult();

        var act = () => cancelled;
        await act.Should().ThrowAsync<OperationCanceledException>();
        (await patient).Should().Be("a");
    }

    [Test]
    public void UnknownEntityOrField_IsIgnoredAndCounted_NeverThrows()
    {
        var db = LadderDb.Seed();
        using var cache = db.CreateCache();
        using var metrics = new MetricsCapture();

        cache.Publish(new Change("nope", "1", "x"));
        cache.Publish(new Change("player", "1", "typo"));
        cache.Publish(new Change("player", "1", "typo", "mmr"));
        cache.Publish(new Change("player", "1", [null!]));
        cache.Publish(default(Change));
        cache.Publish(new Change(null!, null, null!));

        metrics.Sum("ladder.caching.changes.ignored", "reason", "unknown_entity").Should().Be(3);
        metrics.Sum("ladder.caching.changes.ignored", "reason", "unknown_field").Should().Be(3);
    }

    [Test]
    public void InvalidOptions_ListEveryFailure()
    {
        var options = new LadderCachingOptions { NodeId = "" }
            .Entity("player", "name")
            .View<string, int>("a", view => view.DependsOn("player", "mmr").EagerRefresh(TimeSpan.Zero).LoadTimeout(TimeSpan.FromSeconds(-1)))
            .View<string, int>("a", view => view.Load(_ => 1).SizeLimit(0).StaleWhileRevalidate(TimeSpan.Zero))
            .SingleView<int>("", view => view.DependsOn("", "x").Load(_ => ValueTask.FromResult(1)));

        var act = () => new LadderCache(options);

        act.Should().Throw<CacheConfigurationException>().Which.Failures.Should().BeEquivalentTo(
            "NodeId must not be empty.",
            "View 'a' has no loader (call Load(...)).",
            "View 'a' depends on 'player.mmr', but entity 'player' declares no field 'mmr'.",
            "View 'a': RefreshDebounce must be positive and under 49 days for eager refresh (was 00:00:00).",
            "View 'a': LoadTimeout must be positive and under 49 days when set (was -00:00:01).",
            "View 'a' is declared twice.",
            "View 'a' depends on nothing: no change would ever invalidate it (call DependsOn(...)).",
            "View 'a': StaleWhileRevalidate must be positive when set (was 00:00:00).",
            "View 'a': SizeLimit must be positive when set (was 0).",
            "A view has an empty name.",
            "View '' has a dependency with an empty entity name.");
    }

    [Test]
    public void UnknownViewOrWrongTypes_FailWithTheDeclaredShape()
    {
        using var cache = LadderDb.Seed().CreateCache();

        FluentActions.Invoking(() => cache.View<int, Player>("nope")).Should().Throw<CacheViewNotFoundException>().WithMessage("*declared: leaderboard, profile*");
        FluentActions.Invoking(() => cache.View<string, Player>("profile")).Should().Throw<CacheViewNotFoundException>().WithMessage("*declared as View<Int32, Player>*");
        FluentActions.Invoking(() => cache.SingleView<Player>("profile")).Should().Throw<CacheViewNotFoundException>();
    }
}
