using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>Waiting for a job's outcome without polling, and totals by state. PollInterval is 30 s: quick results prove a signal.</summary>
public abstract class OutcomeWaitContract : JobStoreContract
{
    private Task<JobQueue> Open(Action<LadderJobsOptions>? configure = null) => OpenAsync(configure);

    [Test]
    [CancelAfter(30_000)]
    public async Task WaitForFinish_ReturnsTheJobOnceItSucceeded(CancellationToken ct)
    {
        await using var queue = await Open();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) => await release.Task));
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;

        var wait = queue.WaitForFinishAsync(id, ct);
        release.TrySetResult();
        var job = await wait;

        job!.Summary.State.Should().Be(JobState.Succeeded);
        job.Summary.Id.Should().Be(id);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task WaitForFinish_ReturnsADeadJobWithItsError(CancellationToken ct)
    {
        await using var queue = await Open();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => throw new JobPermanentFailureException("corrupt")));
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;

        var job = await queue.WaitForFinishAsync(id, ct);

        job!.Summary.State.Should().Be(JobState.Dead);
        job.Summary.LastError.Should().Contain("corrupt");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task WaitForFinish_OfAJobCancelledMeanwhile_ReturnsItCancelled(CancellationToken ct)
    {
        await using var queue = await Open();
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Delay = TimeSpan.FromHours(1) }, ct)).JobId;

        var wait = queue.WaitForFinishAsync(id, ct);
        (await queue.CancelAsync(id, ct)).Should().BeTrue();

        (await wait)!.Summary.State.Should().Be(JobState.Cancelled);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task WaitForFinish_OfAnUnknownJob_ReturnsNull(CancellationToken ct)
    {
        await using var queue = await Open();

        (await queue.WaitForFinishAsync(12345, ct)).Should().BeNull();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task WaitForFinish_WhenItsTokenIsCancelled_ThrowsOperationCanceled(CancellationToken ct)
    {
        await using var queue = await Open();
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Delay = TimeSpan.FromHours(1) }, ct)).JobId;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var wait = queue.WaitForFinishAsync(id, stop.Token);
        await stop.CancelAsync();

        await FluentActions.Awaiting(() => wait).Should().ThrowAsync<OperationCanceledException>();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task WaitForFinish_WhenTheQueueIsDisposedMeanwhile_ThrowsObjectDisposedWithoutWaitingForAPoll(CancellationToken ct)
    {
        // The poll runs on a fake clock that never moves: only the dispose itself can end the wait.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var queue = await OpenAsync(time: time);
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Delay = TimeSpan.FromHours(1) }, ct)).JobId;
        var wait = queue.WaitForFinishAsync(id, ct);

        await queue.DisposeAsync();

        // A generous ceiling: without a wake-up on dispose the wait never ends.
        await FluentActions.Awaiting(() => wait.WaitAsync(TimeSpan.FromSeconds(20), ct)).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task GetTotals_SumsEveryQueueByState_AndListsEveryState(CancellationToken ct)
    {
        await using var queue = await Open();
        await queue.EnqueueAsync(new Echo(1), new JobOptions { Queue = "a" }, ct);
        await queue.EnqueueAsync(new Echo(2), new JobOptions { Queue = "b" }, ct);
        await queue.EnqueueAsync(new Echo(3), new JobOptions { Queue = "b", Delay = TimeSpan.FromHours(1) }, ct);

        var totals = await queue.GetTotalsAsync(cancellationToken: ct);
        var onlyB = await queue.GetTotalsAsync("b", ct);

        totals.Keys.Should().BeEquivalentTo(Enum.GetValues<JobState>());
        totals[JobState.Ready].Should().Be(2);
        totals[JobState.Scheduled].Should().Be(1);
        totals[JobState.Running].Should().Be(0);
        onlyB[JobState.Ready].Should().Be(1);
        onlyB[JobState.Scheduled].Should().Be(1);
    }
}
