using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// A step of the wall clock (NTP, a VM resumed) moves <see cref="TimeProvider.GetUtcNow"/> but not the monotonic
/// clock, so no timer fires: leases stored in wall-clock time look expired before any heartbeat runs again.
/// </summary>
public abstract class ClockStepContract : JobStoreContract
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Rescue_AfterAForwardStepOfTheWallClock_NeverTakesAJobItsOwnProcessHoldsAndHeartbeats(CancellationToken ct)
    {
        var clock = new SteppableClock(new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        await using var queue = await OpenAsync(o => o.MaxRescues = 1, clock);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) =>
        {
            Interlocked.Increment(ref runs);
            started.TrySetResult();
            await release.Task;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        try
        {
            // Repeated steps, each far beyond the lease: each would count a rescue, and the second would make it poison.
            for (var step = 1; step <= 3; step++)
            {
                clock.Step += TimeSpan.FromHours(1);
                (await queue.RescueExpiredAsync()).Should().Be((0, 0), $"step {step}: the job is held and heartbeated by this process");
            }

            var job = (await queue.GetJobAsync(id, ct))!.Summary;
            job.State.Should().Be(JobState.Running);
            job.Rescues.Should().Be(0);
        }
        finally
        {
            // The shutdown grace runs on the fake clock: a handler still waiting would hold the processor's dispose.
            release.TrySetResult();
        }

        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        runs.Should().Be(1);
    }

    /// <summary>Wall-clock time that can be stepped; timers and timestamps (the monotonic clock) do not see the step.</summary>
    private sealed class SteppableClock(FakeTimeProvider inner) : TimeProvider
    {
        public TimeSpan Step { get; set; }

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + Step;

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => inner.CreateTimer(callback, state, dueTime, period);
    }
}
