using Microsoft.Extensions.DependencyInjection;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>A handler that ignores its timeout: its slot is freed, but its job is not run again until it ends.</summary>
public abstract class AbandonedHandlerContract : JobStoreContract
{
    [Test]
    [CancelAfter(60_000)]
    public async Task HandlerIgnoringItsTimeout_KeepsItsScopeAndItsJob_UntilItEnds(CancellationToken ct)
    {
        await using var queue = await OpenAsync(o =>
        {
            o.TimeoutGrace = TimeSpan.FromMilliseconds(100);
            o.RetryBaseDelay = TimeSpan.Zero;
            o.Queues["default"] = 1;
        });
        await using var services = new ServiceCollection().AddScoped<Probe>().BuildServiceProvider();
        int runsOfFirst = 0, runningOfFirst = 0, overlaps = 0;
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var otherStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var scopeDisposedUnderFirst = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(
            queue,
            new JobHandlerRegistry().Add<Echo>(async (args, context, _) =>
            {
                if (args.N == 2)
                {
                    otherStarted.TrySetResult();
                    return;
                }

                if (Interlocked.Increment(ref runningOfFirst) > 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                try
                {
                    if (Interlocked.Increment(ref runsOfFirst) == 1)
                    {
                        var probe = context.Services!.GetRequiredService<Probe>();
                        firstStarted.TrySetResult();
                        await releaseFirst.Task; // Ignores its token.
                        scopeDisposedUnderFirst.TrySetResult(probe.Disposed);
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref runningOfFirst);
                }
            }),
            services);
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = TimeSpan.FromMilliseconds(100) }, ct)).JobId;
        await firstStarted.Task.WaitAsync(ct);
        await queue.EnqueueAsync(new Echo(2), cancellationToken: ct);

        // The slot was freed after the grace (the other job ran); the job is still held by its first run.
        await otherStarted.Task.WaitAsync(ct);
        (await queue.GetJobAsync(id, ct))!.Summary.Should().Match<JobSummary>(j => j.State == JobState.Running && j.Attempts == 1);
        releaseFirst.TrySetResult();

        (await scopeDisposedUnderFirst.Task.WaitAsync(ct)).Should().BeFalse("the scope lives as long as the handler");
        (await reports.OfJobAsync(id, 2, ct)).Should().Equal(JobOutcome.Retrying, JobOutcome.Succeeded);
        runsOfFirst.Should().Be(2);
        overlaps.Should().Be(0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Shutdown_WhileAHandlerIgnoringItsTimeoutStillHoldsItsJob_GivesItBackWithoutFreeingItsSlotTwice(CancellationToken ct)
    {
        await using var queue = await OpenAsync(o =>
        {
            o.TimeoutGrace = TimeSpan.FromMilliseconds(100);
            o.ShutdownGrace = TimeSpan.FromMilliseconds(100);
            o.Prefetch = 0;
            o.Queues["default"] = 1;
        });
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var otherRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (args, _, _) =>
        {
            if (args.N == 2)
            {
                otherRan.TrySetResult();
                return;
            }

            started.TrySetResult();
            await release.Task; // Ignores its token, through the timeout and the shutdown.
        }));
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = TimeSpan.FromMilliseconds(100) }, ct)).JobId;
        await started.Task.WaitAsync(ct);
        await queue.EnqueueAsync(new Echo(2), cancellationToken: ct);
        await otherRan.Task.WaitAsync(ct); // The abandoned handler's slot was freed: the only slot ran job 2.

        // Shutdown gives the still-held job back; freeing its slot again would overflow the slot semaphore and throw.
        await FluentActions.Awaiting(() => processor.StopAsync(ct)).Should().NotThrowAsync();
        release.TrySetResult();

        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Ready, "shutdown gave the interrupted job back");
    }

    private sealed class Probe : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }
}
