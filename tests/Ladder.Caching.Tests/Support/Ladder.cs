using System.Collections.Concurrent;

namespace Ladder.Caching.Tests.Support;

/// <summary>The seed's data, in memory: the "database" the views load from. Loads are counted per view.</summary>
public sealed class LadderDb
{
    private int _leaderboardLoads;
    private readonly ConcurrentDictionary<int, int> _profileLoads = new();

    public ConcurrentDictionary<int, Player> Players { get; } = new();

    public int LeaderboardLoads => Volatile.Read(ref _leaderboardLoads);

    public int ProfileLoads(int id) => _profileLoads.GetValueOrDefault(id);

    public int TotalProfileLoads => _profileLoads.Values.Sum();

    public static LadderDb Seed(int players = 10)
    {
        var db = new LadderDb();
        for (var id = 1; id <= players; id++)
        {
            db.Players[id] = new Player(id, $"player{id}", "KR", 1500 + id, "dark-mode");
        }

        return db;
    }

    public IReadOnlyList<Player> LoadLeaderboard(LeaderboardQuery query)
    {
        Interlocked.Increment(ref _leaderboardLoads);
        return Players.Values
            .Where(p => query.Country is null || p.Country == query.Country)
            .OrderByDescending(p => p.Mmr)
            .Skip(query.Page * 5)
            .Take(5)
            .ToList();
    }

    public Player LoadProfile(int id)
    {
        _profileLoads.AddOrUpdate(id, 1, (_, n) => n + 1);
        return Players[id];
    }

    /// <summary>Builds a cache with the sample's two views: leaderboard and per-player profile.</summary>
    public LadderCache CreateCache(TimeProvider? time = null, Action<LadderCachingOptions>? more = null)
    {
        var options = new LadderCachingOptions()
            .Entity("player", "name", "country", "mmr", "preferences")
            .Entity("match", "mmr_change", "replay")
            .View<LeaderboardQuery, IReadOnlyList<Player>>("leaderboard", view => view
                .DependsOn("player", "mmr", "name", "country")
                .DependsOn("match", "mmr_change")
                .Load(LoadLeaderboard))
            .View<int, Player>("profile", view => view
                .DependsOn("player", id => id.ToString(System.Globalization.CultureInfo.InvariantCulture), "name", "country", "mmr")
                .Load(LoadProfile));
        more?.Invoke(options);
        return new LadderCache(options, time ?? new CountingTimeProvider());
    }
}

public sealed record Player(int Id, string Name, string Country, int Mmr, string Preferences);

public sealed record LeaderboardQuery(string? Race, string? Country, int Page);
