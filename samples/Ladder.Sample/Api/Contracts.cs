using Ladder.Sample.Domain;


namespace Ladder.Sample.Api;

internal sealed record CreatePlayerRequest(string? Name, string? Country);

internal sealed record UpdatePlayerRequest(string? Name, string? Country);

internal sealed record PreferencesRequest(IReadOnlyList<string>? LastRaces, bool? NotifyOnMatch, string? FavoriteMap);

internal sealed record CreateMatchRequest(long Player1Id, string? Race1, long Player2Id, string? Race2, string? Map);

/// <summary>Report a result by hand (<see cref="WinnerId"/>) or abort the match (<see cref="Aborted"/> true).</summary>
internal sealed record ReportMatchRequest(long? WinnerId, bool? Aborted);

internal sealed record UploadResponse(string Hash, long MatchId, long JobId, bool Duplicate);

/// <summary>A player's page, cached per player. <see cref="Load"/> numbers the load that computed it.</summary>
internal sealed record ProfileView(Player Player, IReadOnlyList<RaceRating> Ratings, IReadOnlyList<Match> RecentMatches, long Load);

/// <summary>
/// A leaderboard page as served. <see cref="Load"/> numbers the load that computed it (the same number twice means the
/// second read was a cache hit); <see cref="Stale"/> is true only when a last good value is served while a load fails.
/// </summary>
internal sealed record LeaderboardView(int Page, int PageSize, long Total, IReadOnlyList<LeaderboardRow> Rows, long Load, bool Stale);

/// <summary>
/// Where an uploaded replay is: its parse job's state, <see cref="Attempts"/> spent in its current life (a retry from
/// dead starts again at 0, so a retried corrupt replay is dead again after attempt 1), <see cref="Runs"/> (every time
/// its handler ran, over all its lives, a successful run included), its last error, and its match's state.
/// </summary>
internal sealed record ReplayStatus(string Hash, long MatchId, long? JobId, string JobState, int Attempts, int Runs, string? Reason, string MatchState)
{
    public bool IsFinal => JobState is "succeeded" or "dead" or "cancelled";
}

internal sealed record QueueCounts(IReadOnlyDictionary<string, long> ByState);
