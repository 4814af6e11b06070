using Ladder.Sample.Api;
using Ladder.Sample.Domain;

namespace Ladder.Sample.Hosting;

/// <summary>
/// A player's history for the player page, read straight from the database, not from the cache: it shows the live
/// state of each match's parse job, and the queue publishes no change a view could depend on.
/// </summary>
internal sealed class PlayerPages(LadderDatabase db, JobLines jobs)
{
    public const int PageSize = 20;

    /// <exception cref="LadderProblemException">404: no such player.</exception>
    public async Task<PlayerHistory> GetHistoryAsync(long playerId, int page, CancellationToken ct)
    {
        var player = await db.TryGetPlayerAsync(playerId, ct) ?? throw LadderProblemException.NotFound($"There is no player {playerId}.");
        var ratings = await db.GetRatingsAsync(playerId, ct);
        var games = await db.RatedGamesAsync(playerId, ct);
        var matches = await db.PlayerMatchesAsync(playerId, page, PageSize, ct);

        var ratingAfter = games.ToDictionary(static g => g.MatchId, static g => g.RatingAfter);
        var lines = new List<HistoryMatch>(matches.Matches.Count);
        foreach (var m in matches.Matches)
        {
            var first = m.Player1Id == playerId;
            var (race, opponentId, opponentName, opponentRace, change) = first
                ? (m.Race1, m.Player2Id, m.Player2Name, m.Race2, m.Change1)
                : (m.Race2, m.Player1Id, m.Player1Name, m.Race1, m.Change2);
            var result = m.State switch
            {
                "completed" => m.WinnerId == playerId ? "won" : "lost",
                "aborted" => "aborted",
                _ => "pending",
            };
            int? after = ratingAfter.TryGetValue(m.Id, out var rating) ? rating : null;
            lines.Add(new HistoryMatch(m.Id, m.CompletedAt ?? m.CreatedAt, m.Map, race, opponentId, opponentName, opponentRace,
                result, change, after, m.Source, await jobs.GetReplayJobAsync(m.ReplayHash, m.ReplayJobId, ct)));
        }

        var series = games
            .Select(static (g, index) => (g, Point: new RatingPoint(index + 1, g.MatchId, g.CompletedAt, g.Change, g.RatingAfter, g.OpponentName)))
            .GroupBy(static x => x.g.Race, StringComparer.Ordinal)
            .Select(static group => new RatingSeries(group.Key, [.. group.Select(static x => x.Point)]))
            .OrderBy(static s => s.Race, StringComparer.Ordinal)
            .ToList();
        return new PlayerHistory(player, ratings, series, page, PageSize, matches.Total, lines);
    }
}
