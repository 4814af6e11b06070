using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

/// <summary>
/// The race that killed the old leaderboard: a load reads the database, a newer write commits and is published
/// while the load still runs, the load finishes. Its result must not be served to any read that started after the
/// publish — on the lazy, eager-refresh and stale-while-revalidate paths. Driven by gates, not timing.
/// </summary>
public sealed class GuaranteeRaceTests
{
    private static readonly Change RatingChange = new("player", "1", "mmr");

    [Test]
    [CancelAfter(60_000)]
    public async Task Lazy_LoadOverlappingPublish_IsNotServedToLaterReads(CancellationToken cancellationToken)
    {
        var db = new GatedDb();
        using var cache = db.CreateCache(view => view);
        var rating = cache.SingleView<int>("rating");
        var blocked = db.BlockNextLoad();

        var early = rating.GetAsync(cancellationToken).AsTask();      // load #1 reads 1, then waits at the gate
        await Wait.For(blocked.Started, cancellationToken);
        db.Commit(2);
        cache.Publish(RatingChange);

        (await rating.GetAsync(cancellationToken)).Should().Be(2, "a read after the publish never gets the load that started before it");
        blocked.Release();
        (await early).Should().Be(1, "the early reader started before the publish, so the old value is allowed for it");
        (await rating.GetAsync(cancellationToken)).Should().Be(2, "the overlapping load was not stored");
        db.Loads.Should().Be(2);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Lazy_PublishAfterALoad_MakesTheNextReadLoadAgain(CancellationToken cancellationToken)
    {
        var db = new GatedDb();
        using var cache = db.CreateCache(view => view);
        var rating = cache.SingleView<int>("rating");
        (await rating.GetAsync(cancellationToken)).Should().Be(1);

        db.Commit(2);
        cache.Publish(RatingChange);

        var result = await rating.GetResultAsync(cancellationToken);
        result.Value.Should().Be(2);
        result.IsStale.Should().BeFalse();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Eager_RefreshOverlappingPublish_IsNotServedToLaterReads(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var db = new GatedDb();
        using var cache = db.CreateCache(view => view.EagerRefresh(TimeSpan.FromSeconds(1)), time);
        var rating = cache.SingleView<int>("rating");
        (await rating.GetAsync(cancellationToken)).Should().Be(1);

        db.Commit(2);
        cache.Publish(RatingChange);
        var blocked = db.BlockNextLoad();
        time.Advance(TimeSpan.FromSeconds(1));                         // the refresh starts: reads 2, waits at the gate
        await Wait.For(blocked.Started, cancellationToken);
        db.Commit(3);
        cache.Publish(RatingChange);

        (await rating.GetAsync(cancellationToken)).Should().Be(3, "the refresh started before this publish");
        blocked.Release();
        await Wait.For(blocked.Finished, cancellationToken);
        (await rating.GetAsync(cancellationToken)).Should().Be(3);
        time.Advance(TimeSpan.FromSeconds(1));                         // the second window's refresh finds nothing stale
        (await rating.GetAsync(cancellationToken)).Should().Be(3);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StaleWhileRevalidate_OldValueIsFlagged_AndOverlappingRefreshIsNotServedAsFresh(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var db = new GatedDb();
        using var cache = db.CreateCache(view => view.StaleWhileRevalidate(TimeSpan.FromMinutes(1)), time);
        var rating = cache.SingleView<int>("rating");
        (await rating.GetAsync(cancellationToken)).Should().Be(1);

        db.Commit(2);
        cache.Publish(RatingChange);
        var blocked = db.BlockNextLoad();
        var first = await rating.GetResultAsync(cancellationToken);   // stale, flagged; starts refresh #2 (reads 2, waits)
        first.Value.Should().Be(1);
        first.IsStale.Should().BeTrue();
        await Wait.For(blocked.Started, cancellationToken);

        db.Commit(3);
        cache.Publish(RatingChange);
        var second = await rating.GetResultAsync(cancellationToken);  // refresh #2 is outdated: a new one (#3) starts
        second.IsStale.Should().BeTrue();
        second.Value.Should().Be(1);

        await Wait.UntilAsync(() => rating.TryGet(out _), "refresh #3 stored a current value", cancellationToken);
        blocked.Release();
        await Wait.For(blocked.Finished, cancellationToken);

        var fresh = await rating.GetResultAsync(cancellationToken);
        fresh.Value.Should().Be(3, "refresh #2 read 2 and started before the publish of 3: never served as fresh");
        fresh.IsStale.Should().BeFalse();
        db.Loads.Should().Be(3);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StaleWhileRevalidate_TooOldValue_IsNotServed(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var db = new GatedDb();
        using var cache = db.CreateCache(view => view.StaleWhileRevalidate(TimeSpan.FromMinutes(1)), time);
        var rating = cache.SingleView<int>("rating");
        await rating.GetAsync(cancellationToken);

        time.Advance(TimeSpan.FromMinutes(2));
        db.Commit(2);
        cache.Publish(RatingChange);

        var result = await rating.GetResultAsync(cancellationToken);
        result.Value.Should().Be(2);
        result.IsStale.Should().BeFalse();
    }

    [Test]
    [CancelAfter(60_000)]
    public void Sync_LoadOverlappingPublish_IsNotServedToLaterReads()
    {
        var db = new GatedDb();
        using var cache = db.CreateCache(view => view);
        var rating = cache.SingleView<int>("rating");
        var blocked = db.BlockNextLoad();

        var early = Task.Factory.StartNew(() => rating.Get(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        blocked.Started.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue();
        db.Commit(2);
        cache.Publish(RatingChange);

        var late = Task.Run(() => rating.Get());
        late.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("a read after the publish must not wait for the load that started before it");
        late.Result.Should().Be(2);
        blocked.Release();
        early.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue();
        early.Result.Should().Be(1);
        rating.Get().Should().Be(2);
    }

    /// <summary>A one-row database whose loads can be held at a gate after they read.</summary>
    private sealed class GatedDb
    {
        private int _value = 1;
        private int _loads;
        private Gate? _next;

        public int Loads => Volatile.Read(ref _loads);

        public void Commit(int value) => Volatile.Write(ref _value, value);

        public Gate BlockNextLoad() => _next = new Gate();

        public LadderCache CreateCache(Func<SingleViewBuilder<int>, SingleViewBuilder<int>> configure, TimeProvider? time = null) =>
            new(
                new LadderCachingOptions().SingleView<int>("rating", view => configure(view.DependsOn("player", "mmr").Load(LoadAsync))),
                time ?? new CountingTimeProvider());

        private async ValueTask<int> LoadAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _loads);
            var value = Volatile.Read(ref _value);           // the load reads the database first...
            var gate = Interlocked.Exchange(ref _next, null);
            if (gate is not null)
            {
                gate.MarkStarted();
                await gate.Released;                          // ...and is still running when a newer write is published
                gate.MarkFinished();
            }

            return value;
        }
    }

    private sealed class Gate
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Started => _started.Task;

        public Task Released => _released.Task;

        public Task Finished => _finished.Task;

        public void MarkStarted() => _started.TrySetResult();

        public void MarkFinished() => _finished.TrySetResult();

        public void Release() => _released.TrySetResult();
    }
}
