using System.Diagnostics;
using Ladder.Jobs.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.Jobs.Tests.Hardening;

/// <summary>
/// Timer-backed values beyond what .NET timers take (~49.7 days), and exceptions at the start of a run: no value and
/// no exception may leave a run unfinished (heartbeated for ever, its slot and permit never freed).
/// </summary>
public sealed class TimerLimitTests : TempFolderTests
{
    private static readonly TimeSpan BeyondTimers = TimeSpan.FromDays(60);

    private JobQueue Open(Action<LadderJobsOptions>? configure = null) => JobQueue.Open(TestOptions.For(Folder.File("jobs.db"), configure));

    [Test]
    [CancelAfter(30_000)]
    public async Task Enqueue_WithATimeoutBeyondTheTimerLimit_IsRefusedNamingTheLimit(CancellationToken ct)
    {
        await using var queue = Open();

        var enqueue = () => queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = TimeSpan.MaxValue }, ct);

        (await enqueue.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("Timeout").And.Contain("InfiniteTimeSpan");
        (await queue.GetCountsAsync(ct)).Should().BeEmpty();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Enqueue_WithAnInfiniteTimeout_RunsTheJobWithoutATimeout(CancellationToken ct)
    {
        await using var queue = Open();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) => await Task.Yield()));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = Timeout.InfiniteTimeSpan }, ct)).JobId;

        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        (await queue.GetJobAsync(id, ct))!.Timeout.Should().BeNull();
    }

    [Test]
    public void Options_WithTimerBackedValuesBeyondTheTimerLimit_FailValidationNamingEveryOne()
    {
        var options = new LadderJobsOptions
        {
            Path = "jobs.db",
            LeaseDuration = TimeSpan.FromDays(200),
            HeartbeatInterval = BeyondTimers,
            RescueInterval = BeyondTimers,
            PollInterval = BeyondTimers,
            ShutdownGrace = BeyondTimers,
            TimeoutGrace = BeyondTimers,
        };

        var failures = options.Validate();

        foreach (var name in new[] { "HeartbeatInterval", "RescueInterval", "PollInterval", "ShutdownGrace", "TimeoutGrace" })
        {
            failures.Should().Contain(f => f.StartsWith(name, StringComparison.Ordinal), $"{name} is beyond the timer limit");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Run_WithAStoredTimeoutBeyondTheTimerLimit_StillFinishesItsJob(CancellationToken ct)
    {
        // A row written by another writer (an older version, or by hand): validated where it is read.
        await using var queue = Open();
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        SetColumn(queue.Options.Path, id, "timeout_ms", long.MaxValue / 2);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) => await Task.Yield()));
        using var reports = new Reports(processor);

        await processor.StartAsync(ct);

        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        processor.HeldJobs.Should().Be(0);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Run_WhoseTimeoutPlusTheGraceOverflowsTheTimerLimit_StillFinishesItsJob(CancellationToken ct)
    {
        await using var queue = Open(o => o.TimeoutGrace = TimeSpan.FromDays(10));
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
        await using var queue = Open(o => o.Queues["default"] = 1);
        var services = new ServiceCollection().BuildServiceProvider();
        await services.DisposeAsync();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask), services);
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 2 }, ct)).JobId;

        (await reports.UntilAsync(id, JobOutcome.Dead, ct)).Should().Equal(JobOutcome.Retrying, JobOutcome.Dead);
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
        await using var queue = Open(o => o.Queues["default"] = 1);
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

    internal static void SetColumn(string path, long id, string column, object value)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"UPDATE ladder_jobs SET {column} = $value WHERE id = $id;";
        command.Parameters.AddWithValue("$value", value);
        command.Parameters.AddWithValue("$id", id);
        command.ExecuteNonQuery();
    }
}
