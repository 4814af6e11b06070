
namespace Ladder.Jobs.Testing.Contract;

/// <summary>Stopping and disposing a processor, twice or at once: interrupted jobs go back, nothing is claimed after dispose.</summary>
public abstract class StopAndDisposeContract : JobStoreContract
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Dispose_DuringAStopInProgress_WaitsForItAndTheStopGivesItsJobsBack(CancellationToken ct)
    {
        // The handler honours its token, which is cancelled only after the grace: the first stop waits in it.
        await using var queue = await OpenAsync(o => o.ShutdownGrace = TimeSpan.FromSeconds(2));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, token) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        }));
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        var stop = processor.StopAsync(CancellationToken.None);
        var dispose = processor.DisposeAsync().AsTask();

        await stop.WaitAsync(ct);
        await dispose.WaitAsync(ct);
        var job = (await queue.GetJobAsync(id, ct))!;
        job.Summary.State.Should().Be(JobState.Ready, "the stop gave the interrupted job back");
        job.Summary.Attempts.Should().Be(0);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Stop_CalledTwice_TheSecondReturnsOnlyOnceTheFirstGaveTheJobsBack(CancellationToken ct)
    {
        await using var queue = await OpenAsync(o => o.ShutdownGrace = TimeSpan.FromSeconds(2));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, token) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        }));
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        var first = processor.StopAsync(CancellationToken.None);
        await processor.StopAsync(CancellationToken.None).WaitAsync(ct);

        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Ready, "the second stop returned after the first gave the job back");
        processor.HeldJobs.Should().Be(0);
        await first.WaitAsync(ct);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Start_AfterDispose_ThrowsObjectDisposedAndClaimsNothing(CancellationToken ct)
    {
        await using var queue = await OpenAsync();
        var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        await processor.DisposeAsync();
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;

        await FluentActions.Awaiting(() => processor.StartAsync(ct)).Should().ThrowAsync<ObjectDisposedException>();
        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Ready);
    }
}
