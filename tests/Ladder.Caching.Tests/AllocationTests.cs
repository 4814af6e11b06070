using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

/// <summary>The hot paths allocate nothing: a hit (sync and async) and a publish of a change nobody reads.</summary>
[NonParallelizable]
public sealed class AllocationTests
{
    private static readonly Change Irrelevant = new("player", "7", "preferences");
    private static readonly Change Relevant = new("player", "7", "mmr");

    [Test]
    [CancelAfter(60_000)]
    public async Task HitAndPublish_AllocateNothing(CancellationToken cancellationToken)
    {
        var db = LadderDb.Seed();
        using var cache = db.CreateCache();
        var leaderboard = cache.View<LeaderboardQuery, IReadOnlyList<Player>>("leaderboard");
        var query = new LeaderboardQuery("zerg", "KR", 0);
        await leaderboard.GetAsync(query, cancellationToken);

        var hits = Measure(() =>
        {
            _ = leaderboard.Get(query);
            var pending = leaderboard.GetAsync(query, cancellationToken);
            if (!pending.IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("a hit must complete synchronously");
            }
            _ = leaderboard.TryGet(query, out _);
        });
        var publishes = Measure(() => cache.Publish(Irrelevant));
        var invalidations = Measure(() => cache.Publish(Relevant));

        hits.Should().Be(0);
        publishes.Should().Be(0);
        invalidations.Should().Be(0);
    }

    private static long Measure(Action action)
    {
        for (var i = 0; i < 100; i++)
        {
            action();   // warm up (tiered JIT)
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            action();
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
