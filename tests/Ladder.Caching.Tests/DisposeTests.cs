using System.Diagnostics;
using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

/// <summary>Disposing the cache ends every load: waiting readers are released, loaders are cancelled.</summary>
public sealed class DisposeTests
{
    // Set only in the flow of the test that disposes from a listener: the load flows it, other tests never see it.
    private static readonly AsyncLocal<LadderCache?> DisposeWhenTheLoadStarts = new();

    [Test]
    [CancelAfter(60_000)]
    public async Task Dispose_AfterALoadStarted_ButBeforeItsLoaderIsCalled_NeverCallsTheLoader(CancellationToken cancellationToken)
    {
        // The load's activity starts on the load's thread just before the loader is called: disposing there is the
        // cache disposed while the load waited for a thread (a read, then Dispose at once, as a host's shutdown does).
        var loadEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Ladder.Caching",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = _ => DisposeWhenTheLoadStarts.Value?.Dispose(),
            ActivityStopped = _ =>
            {
                if (DisposeWhenTheLoadStarts.Value is not null)
                {
                    loadEnded.TrySetResult();
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var calls = 0;
        using var cache = new LadderCache(new LadderCachingOptions().View<string, string>("page", view => view
            .DependsOn("player")
            .Load(key =>
            {
                Interlocked.Increment(ref calls);
                return key;
            })));
        var page = cache.View<string, string>("page");

        DisposeWhenTheLoadStarts.Value = cache;
        var act = () => Wait.For(page.GetAsync("a", cancellationToken).AsTask(), cancellationToken);
        (await act.Should().ThrowAsync<ObjectDisposedException>()).Which.ObjectName.Should().Be("LadderCache");
        DisposeWhenTheLoadStarts.Value = null;

        await Wait.For(loadEnded.Task, cancellationToken);
        calls.Should().Be(0, "a load whose readers Dispose released before its loader ran must not run it on a disposed cache");
    }

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
            await Wait.UntilAsync(() => syncThread.ThreadState.HasFlag(System.Threading.ThreadState.WaitSleepJoin), "the sync reader waits", cancellationToken);

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
