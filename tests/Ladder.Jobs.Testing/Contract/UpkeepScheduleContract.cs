using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// The processor's retention and store upkeep run in a loop of their own, one pass every
/// <see cref="LadderJobsOptions.MaintenanceInterval"/> from the start, beside the rescue loop: a rescue that hangs does
/// not hold retention back, and a retention that hangs does not hold rescues back (issue #10: they shared one loop).
/// </summary>
public abstract class UpkeepScheduleContract : JobStoreContract
{
    private static readonly TimeSpan RealCeiling = TimeSpan.FromSeconds(10);

    [Test]
    [CancelAfter(30_000)]
    public async Task Retention_KeepsItsSchedule_WhileARescueHangs(CancellationToken ct)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var queue = await OpenAsync(o =>
        {
            o.RescueInterval = TimeSpan.FromSeconds(10);
            o.MaintenanceInterval = TimeSpan.FromMinutes(1);
            o.SucceededRetention = TimeSpan.FromSeconds(30);
        }, time);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        using var reports = new Reports(processor);
        var began = time.GetTimestamp();
        var rescues = 0;
        var rescueHangs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        processor.Rescuing += () => Interlocked.Increment(ref rescues);
        // Every rescue hangs from the first (a statement stuck behind a lock, a starved host), until the processor stops.
        processor.RescueStall = stop =>
        {
            rescueHangs.TrySetResult();
            return Task.Delay(Timeout.InfiniteTimeSpan, stop);
        };
        var upkept = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var passes = 0;
        processor.Upkept += () =>
        {
            Interlocked.Increment(ref passes);
            upkept.TrySetResult(time.GetElapsedTime(began));
        };
        await processor.StartAsync(ct);
        await rescueHangs.Task.WaitAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        time.Advance(TimeSpan.FromSeconds(59));
        (await queue.GetJobAsync(id, ct)).Should().NotBeNull("retention is not due before a minute");
        Volatile.Read(ref passes).Should().Be(0);

        // A minute from the start: the first pass is due, the first rescue still hangs. Before, retention ran in the
        // rescue loop after each rescue, so it waited for the rescue (never, here). The ceiling is real time: the pass
        // runs as soon as the clock reaches a minute, or never on this clock.
        time.Advance(TimeSpan.FromSeconds(1));
        (await upkept.Task.WaitAsync(RealCeiling, ct)).Should().Be(TimeSpan.FromMinutes(1));
        (await queue.GetJobAsync(id, ct)).Should().BeNull("the succeeded job was past its 30 s retention");
        Volatile.Read(ref rescues).Should().Be(1, "the first rescue was still hanging");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Rescues_KeepTheirSchedule_WhileRetentionHangs(CancellationToken ct)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var queue = await OpenAsync(o =>
        {
            o.RescueInterval = TimeSpan.FromSeconds(10);
            o.MaintenanceInterval = TimeSpan.FromSeconds(5);
        }, time);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        var began = time.GetTimestamp();
        var rescues = RescueRecorder.Record(processor, time, began, 3);
        var upkeepHangs = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        processor.UpkeepStall = stop =>
        {
            upkeepHangs.TrySetResult(time.GetElapsedTime(began));
            return release.Task.WaitAsync(stop);
        };
        var upkept = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        processor.Upkept += () => upkept.TrySetResult();
        await processor.StartAsync(ct);
        (await rescues[0].Task.WaitAsync(ct)).Should().Be(TimeSpan.Zero, "the processor rescues as it starts");

        // The first pass of retention begins at 5 s and hangs; the rescues due at 10 s and 20 s come on time.
        time.Advance(TimeSpan.FromSeconds(5));
        (await upkeepHangs.Task.WaitAsync(RealCeiling, ct)).Should().Be(TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(5));
        (await rescues[1].Task.WaitAsync(RealCeiling, ct)).Should().Be(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(10));
        (await rescues[2].Task.WaitAsync(RealCeiling, ct)).Should().Be(TimeSpan.FromSeconds(20));
        upkept.Task.IsCompleted.Should().BeFalse("the pass of retention still hangs");

        release.SetResult();
        await upkept.Task.WaitAsync(RealCeiling, ct);
    }
}
