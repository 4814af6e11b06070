using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

/// <summary>The three scenarios of the bot this replaces: what invalidates the leaderboard, and what must not.</summary>
public sealed class SeedScenarioTests
{
    private static readonly LeaderboardQuery AllPlayers = new(null, null, 0);

    [Test]
    [CancelAfter(60_000)]
    public async Task MatchRatingChange_InvalidatesLeaderboard(CancellationToken cancellationToken)
    {
        var db = LadderDb.Seed();
        using var cache = db.CreateCache();
        var leaderboard = cache.View<LeaderboardQuery, IReadOnlyList<Player>>("leaderboard");
        (await leaderboard.GetAsync(AllPlayers, cancellationToken))[0].Id.Should().Be(10);

        db.Players[1] = db.Players[1] with { Mmr = 2000 };
        cache.Publish(new Change("match", "m1", "mmr_change"));

        (await leaderboard.GetAsync(AllPlayers, cancellationToken))[0].Id.Should().Be(1);
        db.LeaderboardLoads.Should().Be(2);
    }

    [TestCase("country")]
    [TestCase("name")]
    [CancelAfter(60_000)]
    public async Task PlayerCountryOrNameChange_InvalidatesLeaderboard(string field, CancellationToken cancellationToken)
    {
        var db = LadderDb.Seed();
        using var cache = db.CreateCache();
        var leaderboard = cache.View<LeaderboardQuery, IReadOnlyList<Player>>("leaderboard");
        await leaderboard.GetAsync(AllPlayers, cancellationToken);

        db.Players[10] = db.Players[10] with { Name = "renamed", Country = "DE" };
        cache.Publish(new Change("player", "10", field));

        var top = (await leaderboard.GetAsync(AllPlayers, cancellationToken))[0];
        top.Should().Be(db.Players[10]);
        db.LeaderboardLoads.Should().Be(2);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PreferencesChange_DoesNotInvalidateLeaderboard_AndCostsNoLoad(CancellationToken cancellationToken)
    {
        var db = LadderDb.Seed();
        using var cache = db.CreateCache();
        var leaderboard = cache.View<LeaderboardQuery, IReadOnlyList<Player>>("leaderboard");
        var profile = cache.View<int, Player>("profile");
        var before = await leaderboard.GetAsync(AllPlayers, cancellationToken);
        await profile.GetAsync(3, cancellationToken);

        for (var i = 0; i < 100; i++)
        {
            cache.Publish(new Change("player", "3", "preferences"));
        }

        cache.AffectedViews(new Change("player", "3", "preferences")).Should().BeEmpty();
        (await leaderboard.GetAsync(AllPlayers, cancellationToken)).Should().BeSameAs(before);
        await profile.GetAsync(3, cancellationToken);
        db.LeaderboardLoads.Should().Be(1);
        db.ProfileLoads(3).Should().Be(1);
    }

    [Test]
    public void DependencyMap_ReadsAsATable()
    {
        using var cache = LadderDb.Seed().CreateCache();

        var table = cache.DescribeDependencies();

        table.Should().Contain("| leaderboard | player | mmr, name, country | any |")
            .And.Contain("| leaderboard | match | mmr_change | any |")
            .And.Contain("| profile | player | name, country, mmr | per entry |");
        cache.Dependencies.Should().HaveCount(3);
        cache.AffectedViews(new Change("player", "7", "mmr")).Should().BeEquivalentTo("leaderboard", "profile");
        cache.AffectedViews(new Change("match", null, "mmr_change")).Should().Equal("leaderboard");
    }
}
