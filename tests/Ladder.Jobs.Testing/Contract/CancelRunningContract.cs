using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>A job cancelled while running keeps its lease, heartbeated, until its handler really ends.</summary>
public abstract class CancelRunningContract : JobStoreContract
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Retry_OfAJobCancelledWhileItsHandlerIgnoresTheToken_WaitsForThatHandlerAndNeverRunsItTwiceAtOnce(CancellationToken ct)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var queue = await OpenAsync(time: time);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int running = 0, peak = 0, runs = 0;
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            if (Interlocked.Increment(ref runs) == 1)
            {
                started.TrySetResult();
                await release.Task; // Ignores its token.
            }

            Interlocked.Decrement(ref running);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        try
        {
            (await queue.CancelAsync(id, ct)).Should().BeTrue();

            // Well past the lease the claim took (30 s), with the processor's heartbeats in between.
            for (var i = 0; i < 4; i++)
            {
                time.Advance(TimeSpan.FromSeconds(15));
                await processor.HeartbeatOnceAsync();
            }

            (await queue.RetryAsync(id, ct)).Should().BeFalse("its cancelled handler still runs in this process");
            processor.HeldJobs.Should().Be(1, "the cancelled run is still tracked");
        }
        finally
        {
            release.TrySetResult();
        }

        await reports.UntilAsync(id, JobOutcome.LeaseLost, ct);
        (await queue.RetryAsync(id, ct)).Should().BeTrue("its handler ended: the lease was released");
        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        runs.Should().Be(2);
        peak.Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Cancel_OfARunningJobWhoseHandlerIgnoresItsTokenAndItsTimeout_FreesItsSlotAfterTheTimeoutAndTheGrace(CancellationToken ct)
    {
        // A cancel (or a lost lease) cancels the run's token: the timeout's promise, that a handler ignoring it does
        // not hold its slot for ever, must still hold.
        await using var queue = await OpenAsync(o =>
        {
            o.TimeoutGrace = TimeSpan.FromMilliseconds(100);
            o.Queues["default"] = 1;
            o.Prefetch = 0;
        });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var otherStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (args, _, _) =>
        {
            if (args.N == 2)
            {
                otherStarted.TrySetResult();
                return;
            }

            firstStarted.TrySetResult();
            await release.Task; // Ignores its token: its timeout and its cancel.
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = TimeSpan.FromSeconds(3) }, ct)).JobId;
        await firstStarted.Task.WaitAsync(ct);

        try
        {
            (await queue.CancelAsync(id, ct)).Should().BeTrue();
            var other = (await queue.EnqueueAsync(new Echo(2), cancellationToken: ct)).JobId;

            // A generous ceiling (the slot is due back after the 3 s timeout and the grace): without the fix it never is.
            await otherStarted.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
            await reports.UntilAsync(other, JobOutcome.Succeeded, ct);
            (await queue.RetryAsync(id, ct)).Should().BeFalse("the cancelled handler still runs: its job stays held");
            processor.HeldJobs.Should().Be(1, "only the cancelled run is still held");
        }
        finally
        {
            release.TrySetResult();
        }

        await reports.UntilAsync(id, JobOutcome.LeaseLost, ct);
        processor.HeldJobs.Should().Be(0);
        (await queue.RetryAsync(id, ct)).Should().BeTrue("its handler ended: the lease was released");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
