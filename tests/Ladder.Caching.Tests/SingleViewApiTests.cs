using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

/// <summary>Single-value views offer what keyed views do: synchronous loaders and reads with flags, MaxAge.</summary>
public sealed class SingleViewApiTests
{
    [Test]
    public void SingleView_WithASynchronousLoader_ReadsSynchronously_WithItsFlags()
    {
        var fail = false;
        var loads = 0;
        using var cache = new LadderCache(new LadderCachingOptions().SingleView<int>("summary", view => view
            .DependsOn("player")
            .Load(() => fail ? throw new InvalidOperationException("down") : ++loads)
            .FailSafe()));
        var summary = cache.SingleView<int>("summary");

        summary.Get().Should().Be(1);
        var fresh = summary.GetResult();
        fresh.Value.Should().Be(1);
        fresh.IsStale.Should().BeFalse();

        fail = true;
        cache.Publish(Change.AllOf("player"));
        var failSafe = summary.GetResult();
        failSafe.Value.Should().Be(1);
        failSafe.IsFailSafe.Should().BeTrue();
        loads.Should().Be(1);
    }

    [Test]
    public void MaxAge_SetThroughTheBuilder_DropsEntriesThatOld_InKeyedAndSingleViews()
    {
        var time = new CountingTimeProvider();
        var pageLoads = 0;
        var summaryLoads = 0;
        using var cache = new LadderCache(
            new LadderCachingOptions()
                .View<string, int>("page", view => view.DependsOn("player").Load(_ => ++pageLoads).MaxAge(TimeSpan.FromMinutes(1)))
                .SingleView<int>("summary", view => view.DependsOn("player").Load(() => ++summaryLoads).MaxAge(TimeSpan.FromMinutes(1))),
            time);
        var page = cache.View<string, int>("page");
        var summary = cache.SingleView<int>("summary");
        page.Get("a").Should().Be(1);
        summary.Get().Should().Be(1);

        time.Advance(TimeSpan.FromSeconds(59));
        page.Get("a").Should().Be(1, "younger than MaxAge");
        summary.Get().Should().Be(1, "younger than MaxAge");

        time.Advance(TimeSpan.FromSeconds(2));
        page.Get("a").Should().Be(2, "older than MaxAge: dropped and reloaded");
        summary.Get().Should().Be(2, "older than MaxAge: dropped and reloaded");
    }

    [Test]
    public void MaxAgeBeyondTheClockRange_IsRejectedAtStartUp()
    {
        var options = new LadderCachingOptions().View<string, int>("a", view => view
            .DependsOn("player")
            .Load(_ => 1)
            .MaxAge(TimeSpan.MaxValue));

        var act = () => new LadderCache(options);

        act.Should().Throw<CacheConfigurationException>().Which.Failures.Should().ContainSingle()
            .Which.Should().StartWith("View 'a': MaxAge must be positive");
    }

    [Test]
    public void TwoCachesInOneProcess_TagTheirMeasurementsWithTheirNames()
    {
        using var metrics = new MetricsCapture();
        var first = "first-" + Guid.NewGuid().ToString("N");
        var second = "second-" + Guid.NewGuid().ToString("N");
        using var one = new LadderCache(new LadderCachingOptions { Name = first }.View<string, int>("page", view => view.DependsOn("player").Load(_ => 1)));
        using var two = new LadderCache(new LadderCachingOptions { Name = second }.View<string, int>("page", view => view.DependsOn("player").Load(_ => 2)));

        one.View<string, int>("page").Get("a");
        one.View<string, int>("page").Get("a");
        two.View<string, int>("page").Get("a");

        metrics.Sum("ladder.caching.hits", "cache", first).Should().Be(1);
        metrics.Sum("ladder.caching.misses", "cache", first).Should().Be(1);
        metrics.Sum("ladder.caching.hits", "cache", second).Should().Be(0);
        metrics.Sum("ladder.caching.misses", "cache", second).Should().Be(1);
        metrics.Sum("ladder.caching.loads", "cache", second).Should().Be(1);
    }

    [Test]
    public void CacheName_MustNotBeEmpty()
    {
        var options = new LadderCachingOptions { Name = " " }.View<string, int>("a", view => view.DependsOn("player").Load(_ => 1));

        options.Validate().Should().ContainSingle().Which.Should().Be("Name must not be empty (it tags every measurement of the cache).");
    }
}
