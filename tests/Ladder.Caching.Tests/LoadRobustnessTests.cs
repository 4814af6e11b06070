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

        using var cache = new LadderCache(new LadderCachingOptions()
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

        var readA = Task.Run(() => a.GetAsync("x", cancellationToken).AsTask(), cancellationToken);
        var readB = Task.Run(() => b.GetAsync("x", cancellationToken).AsTask(), cancellationToken);

        var actA = () => Wait.For(readA, cancellationToken);
        var actB = () => Wait.For(readB, cancellationToken);
        await actA.Should().ThrowAsync<CacheReentrancyException>();
        await actB.Should().ThrowAsync<CacheReentrancyException>();
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
