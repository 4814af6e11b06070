namespace Ladder.Sample.Hosting;

/// <summary>
/// Called inside every leaderboard load, after its database read and before its result goes to the cache. Does
/// nothing in the sample; the integration tests replace it to hold a load open while a rating change commits
/// (the stale-refresh race that sank the original ladder's cache).
/// </summary>
internal class LeaderboardLoadObserver
{
    public virtual ValueTask AfterReadAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
