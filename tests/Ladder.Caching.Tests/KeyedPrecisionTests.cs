using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

public sealed class KeyedPrecisionTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task PlayerChange_ReloadsThatPlayersProfileOnly(CancellationToken cancellationToken)
    {
        var db = LadderDb.Seed();
        using var cache = db.CreateCache();
        var profile = cache.View<int, Player>("profile");
        for (var id = 1; id <= 10; id++)
        {
            await profile.GetAsync(id, cancellationToken);
        }

        db.Players[7] = db.Players[7] with { Name = "seven" };
        cache.Publish(new Change("player", "7", "name"));
        for (var id = 1; id <= 10; id++)
        {
            await profile.GetAsync(id, cancellationToken);
        }

        (await profile.GetAsync(7, cancellationToken)).Name.Should().Be("seven");
        db.ProfileLoads(7).Should().Be(2);
        db.TotalProfileLoads.Should().Be(11, "nobody else's profile reloads");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ChangeWithoutKey_ReloadsEveryProfile(CancellationToken cancellationToken)
    {
        var db = LadderDb.Seed();
        using var cache = db.CreateCache();
        var profile = cache.View<int, Player>("profile");
        for (var id = 1; id <= 10; id++)
        {
            await profile.GetAsync(id, cancellationToken);
        }

        cache.Publish(new Change("player", null, "country"));
        for (var id = 1; id <= 10; id++)
        {
            await profile.GetAsync(id, cancellationToken);
        }

        db.TotalProfileLoads.Should().Be(20);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task FixedKeyDependency_IgnoresOtherRows(CancellationToken cancellationToken)
    {
        var loads = 0;
        using var cache = new LadderCache(new LadderCachingOptions()
            .SingleView<int>("champion", view => view
                .DependsOnKeys("player", ["1"], "mmr")
                .Load(_ => new ValueTask<int>(Interlocked.Increment(ref loads)))));
        var champion = cache.SingleView<int>("champion");
        await champion.GetAsync(cancellationToken);

        cache.Publish(new Change("player", "2", "mmr"));
        (await champion.GetAsync(cancellationToken)).Should().Be(1);

        cache.Publish(new Change("player", "1", "mmr"));
        (await champion.GetAsync(cancellationToken)).Should().Be(2);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ChangeNamingEveryField_InvalidatesDependentsOnce(CancellationToken cancellationToken)
    {
        var db = LadderDb.Seed();
        using var cache = db.CreateCache();
        var profile = cache.View<int, Player>("profile");
        await profile.GetAsync(4, cancellationToken);

        cache.Publish(Change.AllOf("player"));
        cache.Publish(new Change("player", "4", "name", "country", "mmr", "preferences"));
        await profile.GetAsync(4, cancellationToken);

        db.ProfileLoads(4).Should().Be(2);
    }
}
