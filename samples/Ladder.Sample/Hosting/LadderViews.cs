using System.Globalization;
using Ladder.Caching;
using Ladder.Sample.Api;
using Ladder.Sample.Domain;

namespace Ladder.Sample.Hosting;

/// <summary>Which leaderboard page: the cache key of the leaderboard view (filters, search, sort and page).</summary>
internal readonly record struct LeaderboardKey(LeaderboardQuery Query, int Page);

/// <summary>
/// The ladder's cached read views and the changes writers publish (Ladder.Caching). The dependency map is the
/// product: the leaderboard depends on <c>player.{mmr,name,country}</c> and <c>match.mmr_change</c>, so a preferences
/// write costs nothing; a profile depends on its own player's key only.
/// </summary>
internal sealed class LadderViews(LadderCache cache)
{
    public const string Leaderboard = "leaderboard";
    public const string Profile = "profile";

    private static long _loads;

    private readonly CacheView<LeaderboardKey, LeaderboardView> _leaderboard = cache.View<LeaderboardKey, LeaderboardView>(Leaderboard);
    private readonly CacheView<long, ProfileView> _profiles = cache.View<long, ProfileView>(Profile);

    /// <summary>The views and what each depends on; called once from <c>AddLadderCaching</c>.</summary>
    public static void Define(LadderCachingOptions options)
    {
        options.Entity("player", "name", "country", "mmr", "preferences", "matches");
        options.Entity("match", "created", "mmr_change", "aborted");

        options.View<LeaderboardKey, LeaderboardView>(Leaderboard, static view => view
            .DependsOn("player", "mmr", "name", "country")
            .DependsOn("match", "mmr_change")
            .Load(static (services, key, ct) => LoadLeaderboardAsync(services, key, ct)));

        options.View<long, ProfileView>(Profile, static view => view
            .DependsOn("player", static id => id.ToString(CultureInfo.InvariantCulture), "name", "country", "mmr", "preferences", "matches")
            .Load(static (services, id, ct) => LoadProfileAsync(services, id, ct)));
    }

    public Task<LeaderboardView> GetLeaderboardAsync(Race? race, string? country, int page, CancellationToken ct)
        => GetLeaderboardAsync(new LeaderboardQuery(race, country, null), page, ct);

    public async Task<LeaderboardView> GetLeaderboardAsync(LeaderboardQuery query, int page, CancellationToken ct)
    {
        var result = await _leaderboard.GetResultAsync(new LeaderboardKey(query, page), ct);
        return result.IsStale ? result.Value with { Stale = true } : result.Value;
    }

    /// <exception cref="LadderProblemException">404: no such player (nothing is cached for it).</exception>
    public async Task<ProfileView> GetProfileAsync(long playerId, CancellationToken ct)
        => (await _profiles.GetResultAsync(playerId, ct)).Value;

    /// <summary>After a player write commits: name and country matter to the leaderboard, preferences to nobody but the profile.</summary>
    public void PlayerChanged(long playerId, IReadOnlyList<string> fields)
        => cache.Publish(new Change("player", Key(playerId), [.. fields]));

    /// <summary>After a match is created: only the two players' profiles list it.</summary>
    public void MatchCreated(Match match)
        => cache.Publish([
            new Change("match", Key(match.Id), "created"),
            new Change("player", Key(match.Player1Id), "matches"),
            new Change("player", Key(match.Player2Id), "matches"),
        ]);

    /// <summary>After a result and its rating changes commit.</summary>
    public void ResultRecorded(Match match)
        => cache.Publish([
            new Change("match", Key(match.Id), "mmr_change"),
            new Change("player", Key(match.Player1Id), "mmr", "matches"),
            new Change("player", Key(match.Player2Id), "mmr", "matches"),
        ]);

    /// <summary>After a match is aborted: ratings are untouched.</summary>
    public void MatchAborted(Match match)
        => cache.Publish([
            new Change("match", Key(match.Id), "aborted"),
            new Change("player", Key(match.Player1Id), "matches"),
            new Change("player", Key(match.Player2Id), "matches"),
        ]);

    private static string Key(long id) => id.ToString(CultureInfo.InvariantCulture);

    private static async ValueTask<LeaderboardView> LoadLeaderboardAsync(IServiceProvider services, LeaderboardKey key, CancellationToken ct)
    {
        var load = Interlocked.Increment(ref _loads);
        var board = await services.GetRequiredService<LadderDatabase>().ReadLeaderboardAsync(key.Query, key.Page, ct);
        await services.GetRequiredService<LeaderboardLoadObserver>().AfterReadAsync(ct);
        return new LeaderboardView(board.Page, board.PageSize, board.Total, board.Rows, load, Stale: false);
    }

    private static async ValueTask<ProfileView> LoadProfileAsync(IServiceProvider services, long id, CancellationToken ct)
    {
        var load = Interlocked.Increment(ref _loads);
        var db = services.GetRequiredService<LadderDatabase>();

        // A missing player is not cached as a value: the read throws 404 and nothing is stored.
        var player = await db.TryGetPlayerAsync(id, ct) ?? throw LadderProblemException.NotFound($"There is no player {id}.");
        return new ProfileView(player, await db.GetRatingsAsync(id, ct), await db.RecentMatchesAsync(id, 10, ct), load);
    }
}
