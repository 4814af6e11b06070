using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// Timer-backed values beyond what .NET timers take (~49.7 days), and exceptions at the start of a run: no value and
/// no exception may leave a run unfinished (heartbeated for ever, its slot and permit never freed).
/// </summary>
public abstract class TimerLimitContract : JobStoreContract
{
    private Task<JobQueue> Open(Action<LadderJobsOptions>? configure = null) => OpenAsync(configure);

    [Test]
    [CancelAfter(30_000)]
    public async Task Enqueue_WithATimeoutBeyondTheTimerLimit_IsRefusedNamingTheLimit(CancellationToken ct)
    {
        await using var queue = await Open();

        var enqueue = () => queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = TimeSpan.MaxValue }, ct);

        (await enqueue.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("Timeout").And.Contain("InfiniteTimeSpan");
        (await queue.GetCountsAsync(ct)).Should().BeEmpty();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Enqueue_WithAnInfiniteTimeout_RunsTheJobWithoutATimeout(CancellationToken ct)
    {
        await using var queue = await Open();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) => await Task.Yield()));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = Timeout.InfiniteTimeSpan }, ct)).JobId;

        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        (await queue.GetJobAsync(id, ct))!.Timeout.Should().BeNull();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Run_WhoseTimeoutPlusTheGraceOverflowsTheTimerLimit_StillFinishesItsJob(CancellationToken ct)
    {
        await using var queue = await Open(o => o.TimeoutGrace = TimeSpan.FromDays(10));
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) => await Task.Yield()));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = TimeSpan.FromDays(45) }, ct)).JobId;

        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        processor.HeldJobs.Should().Be(0);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Run_WhenTheServiceProviderIsDisposed_FailsTheAttemptAndFreesItsSlot(CancellationToken ct)
    {
        await using var queue = await Open(o => o.Queues["default"] = 1);
        var services = new ServiceCollection().BuildServiceProvider();
        await services.DisposeAsync();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask), services);
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 2 }, ct)).JobId;

        (await reports.OfJobAsync(id, 2, ct)).Should().Equal(JobOutcome.Retrying, JobOutcome.Dead);
        (await queue.GetJobAsync(id, ct))!.Summary.LastError.Should().Contain(nameof(ObjectDisposedException));
        processor.HeldJobs.Should().Be(0);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Run_WhenAnActivityListenerThrows_StillRunsAndFinishesItsJobs(CancellationToken ct)
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == JobQueue.TelemetryName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = _ => throw new InvalidOperationException("a broken listener"),
        };
        ActivitySource.AddActivityListener(listener);
        await using var queue = await Open(o => o.Queues["default"] = 1);
        var runs = 0;
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) =>
        {
            Interlocked.Increment(ref runs);
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        // More jobs than concurrency + prefetch: a leaked slot or permit would stop the queue claiming.
        var results = await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 80).Select(i => JobRequest.For(new Echo(i)))], ct);

        await reports.CountAsync(JobOutcome.Succeeded, results.Count, ct);
        runs.Should().Be(results.Count);
    }
}
