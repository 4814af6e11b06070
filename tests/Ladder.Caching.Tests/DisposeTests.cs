using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

/// <summary>Disposing the cache ends every load: waiting readers are released, loaders are cancelled.</summary>
public sealed class DisposeTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task Dispose_ReleasesReadersWaitingOnALoadThatNeverEnds_WithAnErrorNamingTheLadderCache(CancellationToken cancellationToken)
    {
        var never = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = new LadderCache(new LadderCachingOptions().View<string, string>("page", view => view
            .DependsOn("player")
            .Load((_, _) =>
            {
                started.TrySetResult();
                return new ValueTask<string>(never.Task);   // ignores its token: only Dispose can release the readers
            })));
        var page = cache.View<string, string>("page");
        try
        {
            var asyncReader = page.GetAsync("a", cancellationToken).AsTask();
            await Wait.For(started.Task, cancellationToken);
            var syncResult = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var syncThread = new Thread(() =>
            {
                try
                {
                    syncResult.TrySetResult(page.Get("a"));
                }
                catch (Exception exception)
                {
                    syncResult.TrySetException(exception);
                }
            });
            syncThread.Start();
            var syncReader = syncResult.Task;

            // The synchronous reader is blocked on the shared load before Dispose (not refused by a disposed cache).
            await Wait.UntilAsync(() => syncThread.ThreadState.HasFlag(ThreadState.WaitSleepJoin), "the sync reader waits", cancellationToken);

            cache.Dispose();

            foreach (var reader in new[] { asyncReader, syncReader })
            {
                var act = () => Wait.For(reader, cancellationToken);
                (await act.Should().ThrowAsync<ObjectDisposedException>()).Which.ObjectName.Should().Be("LadderCache");
            }
        }
        finally
        {
            never.TrySetResult("late");
            cache.Dispose();
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(60_000)]
    public async Task Dispose_CancelsTheTokenOfARunningLoader(bool withLoadTimeout, CancellationToken cancellationToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = new LadderCache(
            new LadderCachingOptions().View<string, string>("page", view =>
            {
                view.DependsOn("player").Load(async (key, ct) =>
                {
                    await using var registration = ct.Register(() => cancelled.TrySetResult());
                    started.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, ct);
                    return key;
                });
                if (withLoadTimeout)
                {
                    view.LoadTimeout(TimeSpan.FromMinutes(5));   // on the fake clock: it never fires here
                }
            }),
            new CountingTimeProvider());
        var reader = cache.View<string, string>("page").GetAsync("a", cancellationToken).AsTask();
        await Wait.For(started.Task, cancellationToken);

        cache.Dispose();

        await Wait.For(cancelled.Task, cancellationToken);
        var act = () => Wait.For(reader, cancellationToken);
        await act.Should().ThrowAsync<ObjectDisposedException>();
    }

    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(60_000)]
    public async Task Dispose_WhenALoadersCancellationCallbackThrows_NeitherThrows_NorLeavesItsReadersWaiting(bool withLoadTimeout, CancellationToken cancellationToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cache = new LadderCache(
            new LadderCachingOptions().View<string, string>("page", view =>
            {
                view.DependsOn("player").Load(async (_, ct) =>
                {
                    using var registration = ct.Register(() => throw new InvalidOperationException("callback broke"));
                    started.TrySetResult();
                    return await never.Task;
                });
                if (withLoadTimeout)
                {
                    view.LoadTimeout(TimeSpan.FromMinutes(5));
                }
            }),
            new CountingTimeProvider());
        var reader = cache.View<string, string>("page").GetAsync("a", cancellationToken).AsTask();
        await Wait.For(started.Task, cancellationToken);

        var dispose = () => cache.Dispose();

        dispose.Should().NotThrow();
        var act = () => Wait.For(reader, cancellationToken);
        await act.Should().ThrowAsync<ObjectDisposedException>();
        never.TrySetResult("late");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ReadAfterDispose_ThrowsObjectDisposedException_NamingTheLadderCache(CancellationToken cancellationToken)
    {
        var cache = new LadderCache(new LadderCachingOptions()
            .View<string, string>("page", view => view.DependsOn("player").Load(key => key))
            .SingleView<int>("summary", view => view.DependsOn("player").Load(_ => new ValueTask<int>(1))));
        var page = cache.View<string, string>("page");
        var summary = cache.SingleView<int>("summary");
        (await page.GetAsync("a", cancellationToken)).Should().Be("a");
        (await summary.GetAsync(cancellationToken)).Should().Be(1);

        cache.Dispose();

        var reads = new Func<Task>[]
        {
            () => page.GetAsync("a", cancellationToken).AsTask(),
            () => page.GetAsync("b", cancellationToken).AsTask(),
            () => page.GetResultAsync("a", cancellationToken).AsTask(),
            () => Task.FromResult(page.Get("a")),
            () => Task.FromResult(page.GetResult("b")),
            () => summary.GetAsync(cancellationToken).AsTask(),
            () => Task.FromResult(summary.Get()),
        };
        foreach (var read in reads)
        {
            (await read.Should().ThrowAsync<ObjectDisposedException>()).Which.ObjectName.Should().Be("LadderCache");
        }

        page.TryGet("a", out _).Should().BeFalse("a disposed cache holds nothing");
    }
}
