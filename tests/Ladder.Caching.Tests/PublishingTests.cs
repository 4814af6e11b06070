using Ladder.Caching.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Ladder.Caching.Tests;

public sealed class PublishingTests
{
    private static readonly LeaderboardQuery Top = new(null, null, 0);

    [Test]
    [CancelAfter(60_000)]
    public async Task ChangeScope_PublishesOnlyOnComplete(CancellationToken cancellationToken)
    {
        var db = LadderDb.Seed();
        using var cache = db.CreateCache();
        var leaderboard = cache.View<LeaderboardQuery, IReadOnlyList<Player>>("leaderboard");
        await leaderboard.GetAsync(Top, cancellationToken);

        using (var rolledBack = cache.BeginChanges())
        {
            rolledBack.Add(new Change("player", "1", "mmr"));
            rolledBack.Count.Should().Be(1);
        }

        await leaderboard.GetAsync(Top, cancellationToken);
        db.LeaderboardLoads.Should().Be(1, "a rolled-back unit of work publishes nothing");

        using (var committed = cache.BeginChanges())
        {
            committed.Add(new Change("player", "1", "mmr"));
            committed.Add(new Change("match", "9", "mmr_change"));
            committed.Complete();
            FluentActions.Invoking(committed.Complete).Should().Throw<InvalidOperationException>();
        }

        await leaderboard.GetAsync(Top, cancellationToken);
        db.LeaderboardLoads.Should().Be(2);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Backplane_CarriesChangesToOtherNodes_AndReconnectInvalidatesEverything(CancellationToken cancellationToken)
    {
        var backplane = new InProcessBackplane();
        var dbA = LadderDb.Seed();
        var dbB = LadderDb.Seed();
        using var nodeA = new LadderCache(Options(dbA, "a"), backplane: backplane);
        using var nodeB = new LadderCache(Options(dbB, "b"), backplane: backplane);
        var boardA = nodeA.View<LeaderboardQuery, IReadOnlyList<Player>>("leaderboard");
        var boardB = nodeB.View<LeaderboardQuery, IReadOnlyList<Player>>("leaderboard");
        await boardA.GetAsync(Top, cancellationToken);
        await boardB.GetAsync(Top, cancellationToken);

        nodeA.Publish(new Change("player", "1", "mmr"));
        await boardA.GetAsync(Top, cancellationToken);
        await boardB.GetAsync(Top, cancellationToken);
        (dbA.LeaderboardLoads, dbB.LeaderboardLoads).Should().Be((2, 2));

        nodeB.Publish(new Change("player", "1", "preferences"));
        await boardA.GetAsync(Top, cancellationToken);
        (dbA.LeaderboardLoads, dbB.LeaderboardLoads).Should().Be((2, 2));

        backplane.SignalReconnected();
        await boardA.GetAsync(Top, cancellationToken);
        await boardB.GetAsync(Top, cancellationToken);
        (dbA.LeaderboardLoads, dbB.LeaderboardLoads).Should().Be((3, 3));

        static LadderCachingOptions Options(LadderDb db, string node) => new LadderCachingOptions { NodeId = node }
            .View<LeaderboardQuery, IReadOnlyList<Player>>("leaderboard", view => view.DependsOn("player", "mmr").Load(db.LoadLeaderboard));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AddLadderCaching_RegistersOneCacheAndPublisher_WithServicesForLoaders(CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();
        services.AddSingleton(LadderDb.Seed());
        services.AddLadderCaching(caching => caching.View<int, Player>("profile", view => view
            .DependsOn("player", id => id.ToString(System.Globalization.CultureInfo.InvariantCulture), "name")
            .Load((sp, id, _) => ValueTask.FromResult(sp.GetRequiredService<LadderDb>().LoadProfile(id)))));
        services.AddLadderCaching(caching => caching.SingleView<int>("count", view => view
            .DependsOn("player")
            .Load((sp, _) => ValueTask.FromResult(sp.GetRequiredService<LadderDb>().Players.Count))));
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var cache = provider.GetRequiredService<LadderCache>();
        provider.GetRequiredService<IChangePublisher>().Should().BeSameAs(cache);
        services.Count(d => d.ServiceType == typeof(LadderCache)).Should().Be(1);
        (await cache.View<int, Player>("profile").GetAsync(3, cancellationToken)).Id.Should().Be(3);
        (await cache.SingleView<int>("count").GetAsync(cancellationToken)).Should().Be(10);
    }

    [Test]
    public void AddLadderCaching_WithInvalidOptions_ListsEveryFailure()
    {
        var services = new ServiceCollection();
        services.AddLadderCaching(caching => caching
            .View<int, int>("a", view => view.LoadTimeout(TimeSpan.Zero))
            .View<int, int>("b", view => view.DependsOn("player").Load(id => id).SizeLimit(-1)));
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<LadderCache>();

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().HaveCount(4)
            .And.Contain("View 'b': SizeLimit must be positive when set (was -1).");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Metrics_CountHitsMissesInvalidationsAndLoads(CancellationToken cancellationToken)
    {
        using var metrics = new MetricsCapture();
        var db = LadderDb.Seed();
        using var cache = db.CreateCache();
        var profile = cache.View<int, Player>("profile");

        await profile.GetAsync(1, cancellationToken);
        await profile.GetAsync(1, cancellationToken);
        cache.Publish(new Change("player", "1", "mmr"));
        await profile.GetAsync(1, cancellationToken);

        metrics.Sum("ladder.caching.hits", "view", "profile").Should().Be(1);
        metrics.Sum("ladder.caching.misses", "view", "profile").Should().Be(2);
        metrics.Sum("ladder.caching.invalidations", "view", "profile").Should().Be(1);
        metrics.Sum("ladder.caching.invalidations", "view", "leaderboard").Should().Be(1);
        metrics.Sum("ladder.caching.loads", "outcome", "stored").Should().Be(2);
        metrics.Count("ladder.caching.load.duration").Should().Be(2);
    }
}
