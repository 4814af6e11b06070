using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

public sealed class RefreshAndIdleTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Burst_TenThousandChangesInsideDebounce_CauseOneRecompute(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var loads = 0;
        var refreshed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cache = new LadderCache(
            new LadderCachingOptions().SingleView<int>("leaderboard", view => view
                .DependsOn("match", "mmr_change")
                .Load(_ =>
                {
                    var n = Interlocked.Increment(ref loads);
                    if (n == 2)
                    {
                        refreshed.SetResult();
                    }

                    return new ValueTask<int>(n);
                })
                .Options.Refresh = RefreshMode.Eager),
            time);
        var leaderboard = cache.SingleView<int>("leaderboard");
        await leaderboard.GetAsync(cancellationToken);

        for (var i = 0; i < 10_000; i++)
        {
            cache.Publish(new Change("match", i.ToString(System.Globalization.CultureInfo.InvariantCulture), "mmr_change"));
        }

        time.TimersCreated.Should().Be(1, "the first change opens one debounce window; the rest are coalesced");
        time.Advance(TimeSpan.FromMilliseconds(100));
        await Wait.For(refreshed.Task, cancellationToken);
        await Wait.UntilAsync(() => leaderboard.TryGet(out _), "the refresh stored its value", cancellationToken);

        (await leaderboard.GetAsync(cancellationToken)).Should().Be(2);
        time.Advance(TimeSpan.FromHours(1));
        loads.Should().Be(2);
        time.Callbacks.Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Idle_AnHourWithoutChanges_CostsNoLoadsAndNoTimerCallbacks(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var db = LadderDb.Seed();
        using var cache = db.CreateCache(time, options => options
            .SingleView<int>("eager", view => view.DependsOn("player", "mmr").Load(_ => new ValueTask<int>(db.LoadLeaderboard(new(null, null, 0)).Count)).Options.Refresh = RefreshMode.Eager)
            .SingleView<int>("swr", view => view.DependsOn("match").Load(_ => new ValueTask<int>(1)).StaleWhileRevalidate(TimeSpan.FromMinutes(5)))
            .View<string, string>("timed", view => view.DependsOn("player", "name").Load(key => key).LoadTimeout(TimeSpan.FromSeconds(5)).FailSafe()));
        var leaderboard = cache.View<LeaderboardQuery, IReadOnlyList<Player>>("leaderboard");
        var profile = cache.View<int, Player>("profile");
        await leaderboard.GetAsync(new(null, "KR", 0), cancellationToken);
        await profile.GetAsync(1, cancellationToken);
        await cache.SingleView<int>("eager").GetAsync(cancellationToken);
        await cache.SingleView<int>("swr").GetAsync(cancellationToken);
        await cache.View<string, string>("timed").GetAsync("x", cancellationToken);
        var loadsBefore = db.LeaderboardLoads + db.TotalProfileLoads;
        var timersBefore = time.TimersCreated;
        var callbacksBefore = time.Callbacks;

        for (var minute = 0; minute < 60; minute++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
        }

        await leaderboard.GetAsync(new(null, "KR", 0), cancellationToken);
        (db.LeaderboardLoads + db.TotalProfileLoads).Should().Be(loadsBefore);
        time.Callbacks.Should().Be(callbacksBefore, "nothing fires while nothing changes");
        time.TimersCreated.Should().Be(timersBefore);
        time.Fake.GetUtcNow().Should().Be(new DateTimeOffset(2026, 1, 1, 1, 0, 0, TimeSpan.Zero));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Eager_RefreshesInvalidatedEntriesOnly_AfterTheWindow(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var db = LadderDb.Seed();
        using var cache = new LadderCache(
            new LadderCachingOptions().View<int, Player>("profile", view => view
                .DependsOn("player", id => id.ToString(System.Globalization.CultureInfo.InvariantCulture), "name")
                .Load(db.LoadProfile)
                .EagerRefresh(TimeSpan.FromSeconds(2))),
            time);
        var profile = cache.View<int, Player>("profile");
        for (var id = 1; id <= 5; id++)
        {
            await profile.GetAsync(id, cancellationToken);
        }

        cache.Publish(new Change("player", "3", "name"));
        time.Advance(TimeSpan.FromSeconds(1));
        db.ProfileLoads(3).Should().Be(1, "the window is still open");
        time.Advance(TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => profile.TryGet(3, out _), "player 3 refreshed", cancellationToken);

        db.ProfileLoads(3).Should().Be(2);
        db.TotalProfileLoads.Should().Be(6);
        await profile.GetAsync(3, cancellationToken);
        db.TotalProfileLoads.Should().Be(6, "the read after the refresh is a hit");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task MaxAge_ExpiresOnTheFakeClock(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var loads = 0;
        using var cache = new LadderCache(
            new LadderCachingOptions().View<string, int>("page", view =>
            {
                view.DependsOn("player").Load(_ => Interlocked.Increment(ref loads));
                view.Options.MaxAge = TimeSpan.FromMinutes(10);
            }),
            time);
        var page = cache.View<string, int>("page");
        await page.GetAsync("a", cancellationToken);

        time.Advance(TimeSpan.FromMinutes(9));
        (await page.GetAsync("a", cancellationToken)).Should().Be(1);
        time.Advance(TimeSpan.FromMinutes(2));
        (await page.GetAsync("a", cancellationToken)).Should().Be(2);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task EvictedEntry_ReleasesItsKeyCounter_AndAPublishStillReachesTheNextLoad(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var db = LadderDb.Seed();
        using var cache = new LadderCache(
            new LadderCachingOptions().View<int, Player>("profile", view =>
            {
                view.DependsOn("player", id => id.ToString(System.Globalization.CultureInfo.InvariantCulture), "name").Load(db.LoadProfile);
                view.Options.MaxAge = TimeSpan.FromMinutes(1);
            }),
            time);
        var profile = cache.View<int, Player>("profile");
        var core = profile.Core;
        await profile.GetAsync(7, cancellationToken);
        core.KeyCounterCount.Should().Be(1);

        time.Advance(TimeSpan.FromMinutes(2));
        profile.TryGet(7, out _).Should().BeFalse();                  // the lookup evicts the expired entry
        await Wait.UntilAsync(() => core.KeyCounterCount == 0, "the eviction callback released the counter", cancellationToken);

        await profile.GetAsync(7, cancellationToken);
        db.Players[7] = db.Players[7] with { Name = "after" };
        cache.Publish(new Change("player", "7", "name"));
        (await profile.GetAsync(7, cancellationToken)).Name.Should().Be("after");
        db.ProfileLoads(7).Should().Be(3);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SizeLimit_BoundsTheEntries_AndReadsStayCorrect(CancellationToken cancellationToken)
    {
        var db = LadderDb.Seed(20);
        using var cache = new LadderCache(new LadderCachingOptions().View<int, Player>("profile", view => view
            .DependsOn("player", id => id.ToString(System.Globalization.CultureInfo.InvariantCulture), "name")
            .Load(db.LoadProfile)
            .SizeLimit(5)));
        var profile = cache.View<int, Player>("profile");

        for (var id = 1; id <= 20; id++)
        {
            (await profile.GetAsync(id, cancellationToken)).Id.Should().Be(id);
        }

        profile.Core.Count.Should().BeLessThanOrEqualTo(5);
        db.Players[20] = db.Players[20] with { Name = "twenty" };
        cache.Publish(new Change("player", "20", "name"));
        (await profile.GetAsync(20, cancellationToken)).Name.Should().Be("twenty");
    }
}
