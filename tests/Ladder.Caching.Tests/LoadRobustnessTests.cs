using System.Diagnostics;
using Ladder.Caching.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Ladder.Caching.Tests;

/// <summary>Loads whose surroundings misbehave (listeners, loggers, blocking loaders, cycles) never hang readers.</summary>
public sealed class LoadRobustnessTests
{
    // Set only in the flow of the test that wants a throwing listener: the load flows it, other tests never see it.
    private static readonly AsyncLocal<bool> ThrowInListener = new();

    [Test]
    [CancelAfter(60_000)]
    public async Task ThrowingActivityListener_FailsThatLoad_AndLeavesNoOrphanedFlight(CancellationToken cancellationToken)
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Ladder.Caching",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStarted = _ =>
            {
                if (ThrowInListener.Value)
                {
                    throw new InvalidOperationException("listener broke");
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var cache = new LadderCache(new LadderCachingOptions().View<string, string>("page", view => view
            .DependsOn("player")
            .Load(key => key)));
        var page = cache.View<string, string>("page");

        ThrowInListener.Value = true;
        var first = () => Wait.For(page.GetAsync("a", cancellationToken).AsTask(), cancellationToken);
        await first.Should().ThrowAsync<InvalidOperationException>().WithMessage("listener broke");
        ThrowInListener.Value = false;

        (await page.GetAsync("a", cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken)).Should().Be("a", "the failed flight left the map");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ThrowingLoggerOnTimeout_NeitherThrowsFromTheTimer_NorPoisonsTheKey(CancellationToken cancellationToken)
    {
        var time = new CountingTimeProvider();
        var hang = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        using var loggers = new ThrowingLoggerFactory();
        using var cache = new LadderCache(
            new LadderCachingOptions().View<string, string>("page", view => view
                .DependsOn("player")
                .Load((key, _) => Interlocked.Increment(ref calls) == 1 ? new ValueTask<string>(hang.Task) : new ValueTask<string>(key))
                .LoadTimeout(TimeSpan.FromSeconds(5))),
            time,
            loggers);
        var page = cache.View<string, string>("page");

        var waiter = page.GetAsync("a", cancellationToken).AsTask();
        var advance = () => time.Advance(TimeSpan.FromSeconds(5));
        advance.Should().NotThrow("a timer callback never throws");

        var act = () => Wait.For(waiter, cancellationToken);
        await act.Should().ThrowAsync<CacheLoadTimeoutException>();
        (await page.GetAsync("a", cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken)).Should().Be("a", "the timed-out flight left the map");
        hang.SetResult("late");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task LoaderBlockingSynchronously_DoesNotBlockTheStartingReader_WhichHonoursItsCancellation(CancellationToken cancellationToken)
    {
        using var gate = new ManualResetEventSlim();
        using var cache = new LadderCache(new LadderCachingOptions().View<string, string>("page", view => view
            .DependsOn("player")
            .Load(key =>
            {
                gate.Wait(TimeSpan.FromSeconds(60));
                return key;
            })
            .LoadTimeout(TimeSpan.FromSeconds(30))));
        var page = cache.View<string, string>("page");
        using var impatient = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            // Run the call itself on another thread: before the fix it blocked inside GetAsync until the gate opened.
            var started = Task.Factory.StartNew(() => page.GetAsync("a", impatient.Token).AsTask(), cancellationToken, TaskCreationOptions.None, TaskScheduler.Default);
            var pending = await started.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            await impatient.CancelAsync();

            var act = () => Wait.For(pending, cancellationToken);
            await act.Should().ThrowAsync<OperationCanceledException>();
        }
        finally
        {
            gate.Set();
        }

        (await page.GetAsync("a", cancellationToken)).Should().Be("a");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CycleAcrossTwoKeys_StartedFromTwoFlows_FailsWithReentrancy_InsteadOfDeadlocking(CancellationToken cancellationToken)
    {
        using var cache = TwoViewsReadingEachOther();
        var (readA, readB) = ReadBothFromTwoFlows(cache, cancellationToken);

        var actA = () => Wait.For(readA, cancellationToken);
        var actB = () => Wait.For(readB, cancellationToken);
        await actA.Should().ThrowAsync<CacheReentrancyException>();
        await actB.Should().ThrowAsync<CacheReentrancyException>();
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task LoadTimeout_HoldsForASynchronousReader_OfABlockingLoader_WhenTimerCallbacksCannotRun(CancellationToken cancellationToken)
    {
        // Sync Get on a blocked loader used to throw after 637-799 ms for a 200 ms limit: the reader and the loader
        // held pool threads, so the timeout's timer callback waited for the pool to add one. The fake clock's
        // callbacks are held back here, as the starved pool holds them; the reader must not need them.
        var time = new StarvedTimeProvider();
        using var gate = new ManualResetEventSlim();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        using var cache = new LadderCache(
            new LadderCachingOptions().View<string, string>("page", view => view
                .DependsOn("player")
                .Load(key =>
                {
                    if (Interlocked.Increment(ref calls) == 1)
                    {
                        started.TrySetResult();
                        gate.Wait(TimeSpan.FromSeconds(90));   // a blocking synchronous loader
                        return "late";
                    }

                    return key;
                })
                .LoadTimeout(TimeSpan.FromMilliseconds(200))),
            time);
        var page = cache.View<string, string>("page");
        try
        {
            var reader = Task.Factory.StartNew(() => page.Get("a"), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await Wait.For(started.Task, cancellationToken);
            time.Advance(TimeSpan.FromMilliseconds(200));

            var act = () => Wait.For(reader, cancellationToken);
            (await act.Should().ThrowAsync<CacheLoadTimeoutException>()).Which.Timeout.Should().Be(TimeSpan.FromMilliseconds(200));
            page.Get("a").Should().Be("a", "the key is free for a new load while the first loader still blocks");
        }
        finally
        {
            gate.Set();
        }

        var late = () => time.RunDeferred();
        late.Should().NotThrow("the timer's callback, once it runs, finds the load already timed out");
        calls.Should().Be(2);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task LoadTimeout_HoldsForASynchronousReader_WhenTheLoadersCancellationCallbackBlocks(CancellationToken cancellationToken)
    {
        // A loader's cancellation callback is the loader's code (a database driver's Cancel that waits for its server,
        // or one that takes a lock the reader's caller holds): the reader that times the load out must not run it on
        // its own thread, or the limit it keeps is as late as that callback (or never, on a lock).
        var time = new StarvedTimeProvider();
        using var release = new ManualResetEventSlim();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cache = new LadderCache(
            new LadderCachingOptions().View<string, string>("page", view => view
                .DependsOn("player")
                .Load((_, ct) =>
                {
                    using var registration = ct.Register(() =>
                    {
                        cancelled.TrySetResult();
                        release.Wait(TimeSpan.FromSeconds(90));
                    });
                    started.TrySetResult();
                    release.Wait(TimeSpan.FromSeconds(90), CancellationToken.None);   // a blocking loader that ignores its token
                    return new ValueTask<string>("late");
                })
                .LoadTimeout(TimeSpan.FromMilliseconds(200))),
            time);
        var page = cache.View<string, string>("page");
        try
        {
            var reader = Task.Factory.StartNew(() => page.Get("a"), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await Wait.For(started.Task, cancellationToken);
            time.Advance(TimeSpan.FromMilliseconds(200));

            var act = () => Wait.For(reader, cancellationToken);
            await act.Should().ThrowAsync<CacheLoadTimeoutException>();
            await Wait.For(cancelled.Task, cancellationToken);   // the loader's token is still cancelled, off the reader's thread
        }
        finally
        {
            release.Set();
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CycleAcrossTwoFlows_NamesEveryLoadOfTheCycle_InEachReadersError(CancellationToken cancellationToken)
    {
        using var cache = TwoViewsReadingEachOther();
        var (readA, readB) = ReadBothFromTwoFlows(cache, cancellationToken);

        foreach (var read in new[] { readA, readB })
        {
            var act = () => Wait.For(read, cancellationToken);
            var error = (await act.Should().ThrowAsync<CacheReentrancyException>()).Which;
            error.Cycle.Should().HaveCount(3);
            error.Cycle[0].Should().Be(error.Cycle[2]);
            error.Cycle.Take(2).Should().BeEquivalentTo(["view 'a' key 'x'", "view 'b' key 'x'"]);
            error.Message.Should().Contain("view 'a' key 'x' → view 'b' key 'x'").And.NotContain("read its own key:");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CycleWithinOneFlow_NamesEveryLoadOfTheCycle(CancellationToken cancellationToken)
    {
        CacheView<string, string>? a = null;
        CacheView<string, string>? b = null;
        using var cache = new LadderCache(new LadderCachingOptions()
            .View<string, string>("a", view => view.DependsOn("player").Load(async (key, ct) => "a" + await b!.GetAsync(key, ct)))
            .View<string, string>("b", view => view.DependsOn("player").Load(async (key, ct) => "b" + await a!.GetAsync(key, ct))));
        a = cache.View<string, string>("a");
        b = cache.View<string, string>("b");

        var act = () => Wait.For(a.GetAsync("x", cancellationToken).AsTask(), cancellationToken);

        var error = (await act.Should().ThrowAsync<CacheReentrancyException>()).Which;
        error.View.Should().Be("a");
        error.Cycle.Should().Equal("view 'a' key 'x'", "view 'b' key 'x'", "view 'a' key 'x'");
        error.Message.Should().Contain("view 'a' key 'x' → view 'b' key 'x' → view 'a' key 'x'");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task LoaderReadingItsOwnKey_IsAOneLoadCycle(CancellationToken cancellationToken)
    {
        CacheView<string, string>? a = null;
        using var cache = new LadderCache(new LadderCachingOptions()
            .View<string, string>("a", view => view.DependsOn("player").Load(async (key, ct) => "a" + await a!.GetAsync(key, ct))));
        a = cache.View<string, string>("a");

        var act = () => Wait.For(a.GetAsync("x", cancellationToken).AsTask(), cancellationToken);

        var error = (await act.Should().ThrowAsync<CacheReentrancyException>()).Which;
        error.Cycle.Should().Equal("view 'a' key 'x'", "view 'a' key 'x'");
        error.Message.Should().Be("The loader of view 'a' key 'x' read its own key: a load may not depend on itself.");
    }

    [Test]
    public void RefreshDebounceBeyondTimerRange_IsRejectedAtStartUp()
    {
        var options = new LadderCachingOptions().View<string, int>("a", view => view
            .DependsOn("player")
            .Load(_ => 1)
            .EagerRefresh(TimeSpan.FromDays(50)));

        var act = () => new LadderCache(options);

        act.Should().Throw<CacheConfigurationException>().Which.Failures.Should().ContainSingle()
            .Which.Should().Be("View 'a': RefreshDebounce must be positive and under 49 days for eager refresh (was 50.00:00:00).");
    }

    /// <summary>Views a and b whose loaders read each other's key, each after both loads have started.</summary>
    private static LadderCache TwoViewsReadingEachOther()
    {
        CacheView<string, string>? a = null;
        CacheView<string, string>? b = null;
        var started = 0;
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async ValueTask Rendezvous()
        {
            if (Interlocked.Increment(ref started) == 2)
            {
                both.SetResult();
            }

            await both.Task;
        }

        var cache = new LadderCache(new LadderCachingOptions()
            .View<string, string>("a", view => view.DependsOn("player").Load(async (key, ct) =>
            {
                await Rendezvous();
                return "a" + await b!.GetAsync(key, ct);
            }))
            .View<string, string>("b", view => view.DependsOn("player").Load(async (key, ct) =>
            {
                await Rendezvous();
                return "b" + await a!.GetAsync(key, ct);
            })));
        a = cache.View<string, string>("a");
        b = cache.View<string, string>("b");
        return cache;
    }

    /// <summary>Reads a's and b's key "x" from two flows: the loads then wait for each other (A→B→A).</summary>
    private static (Task<string> ReadA, Task<string> ReadB) ReadBothFromTwoFlows(LadderCache cache, CancellationToken cancellationToken)
    {
        var (a, b) = (cache.View<string, string>("a"), cache.View<string, string>("b"));
        return (Task.Run(() => a.GetAsync("x", cancellationToken).AsTask(), cancellationToken),
            Task.Run(() => b.GetAsync("x", cancellationToken).AsTask(), cancellationToken));
    }

    private sealed class ThrowingLoggerFactory : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new ThrowingLogger();

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }
    }

    private sealed class ThrowingLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            throw new InvalidOperationException("logger broke");
    }
}
