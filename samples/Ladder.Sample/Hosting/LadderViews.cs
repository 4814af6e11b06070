using Ladder.Sample.Api;
using Ladder.Sample.Domain;

namespace Ladder.Sample.Hosting;

/// <summary>The ladder's read views (leaderboard pages, player profiles) and the changes writers publish.</summary>
internal sealed partial class LadderViews(LadderDatabase db, LeaderboardLoadObserver observer)
{
    private long _loads;

    /// <summary>Loads counted since start: a test sees a cache hit as a read that did not add one.</summary>
    public long Loads => Interlocked.Read(ref _loads);

    public async Task<LeaderboardView> GetLeaderboardAsync(Race? race, string? country, int page, CancellationToken ct)
    {
        var load = Interlocked.Increment(ref _loads);
        var board = await db.ReadLeaderboardAsync(race, country, page, ct);
        await observer.AfterReadAsync(ct);
        return new LeaderboardView(board.Page, board.PageSize, board.Total, board.Rows, load, Stale: false);
    }

    public async Task<ProfileView> GetProfileAsync(long playerId, CancellationToken ct)
    {
        var load = Interlocked.Increment(ref _loads);
        var player = await db.TryGetPlayerAsync(playerId, ct) ?? throw LadderProblemException.NotFound($"There is no player {playerId}.");
        return new ProfileView(player, await db.GetRatingsAsync(playerId, ct), await db.RecentMatchesAsync(playerId, 10, ct), load);
    }

    public void PlayerChanged(long playerId, IReadOnlyList<string> fields) => _ = (playerId, fields, _loads);

    public void ResultRecorded(Match match) => _ = (match, _loads);
}
