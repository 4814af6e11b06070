using Ladder.Caching;

/// <summary>Uses Ladder.Caching through its public API, as a user who installed the package would.</summary>
internal static class CachingUsage
{
    public static async Task RunAsync(List<string> failures)
    {
        var ratings = new Dictionary<int, int> { [1] = 1500, [2] = 1600 };
        var boardLoads = 0;
        var profileLoads = 0;
        var options = new LadderCachingOptions()
            .Entity("player", "name", "country", "mmr", "preferences")
            .View<string, int>("leaderboard", view => view
                .DependsOn("player", "mmr", "name", "country")
                .DependsOn("match", "mmr_change")
                .Load(_ => { boardLoads++; return ratings.Values.Max(); }))
            .View<int, int>("profile", view => view
                .DependsOn("player", id => id.ToString(System.Globalization.CultureInfo.InvariantCulture), "mmr")
                .Load((id, _) => { profileLoads++; return ValueTask.FromResult(ratings[id]); }));
        using var cache = new LadderCache(options);
        var leaderboard = cache.View<string, int>("leaderboard");
        var profile = cache.View<int, int>("profile");

        Check(await leaderboard.GetAsync("top") == 1600, "first leaderboard read", failures);
        await profile.GetAsync(1);
        await profile.GetAsync(2);

        cache.Publish(new Change("player", "1", "preferences"));   // irrelevant: no reload anywhere
        Check(await leaderboard.GetAsync("top") == 1600 && boardLoads == 1, "an irrelevant change reloaded the leaderboard", failures);

        using (var scope = cache.BeginChanges())
        {
            ratings[1] = 1700;
            scope.Add(new Change("player", "1", "mmr"));
            scope.Complete();                                      // relevant: leaderboard and player 1's profile only
        }

        Check(await leaderboard.GetAsync("top") == 1700 && boardLoads == 2, "a relevant change did not reload the leaderboard", failures);
        Check(await profile.GetAsync(1) == 1700 && await profile.GetAsync(2) == 1600 && profileLoads == 3, "keyed precision: only player 1's profile reloads", failures);
        Check(cache.DescribeDependencies().Contains("| profile | player | mmr | per entry |", StringComparison.Ordinal), "dependency table", failures);
        Console.WriteLine($"Ladder.Caching: leaderboard loads {boardLoads}, profile loads {profileLoads}");
    }

    private static void Check(bool condition, string failure, List<string> failures)
    {
        if (!condition)
        {
            failures.Add("Ladder.Caching: " + failure);
        }
    }
}
