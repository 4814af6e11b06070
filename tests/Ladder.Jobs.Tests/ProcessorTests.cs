using Ladder.Jobs.Tests.Support;
using Reports = Ladder.Jobs.Testing.Reports;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Tests;

/// <summary>The processor on the SQLite file: start marks as rows, enlisting a SQLite transaction (the processor on every store is the contract suite's ProcessorContract).</summary>
public sealed class ProcessorTests : TempFolderTests
{
    private JobQueue Open(Action<LadderJobsOptions>? configure = null) => JobQueue.Open(TestOptions.For(Folder.File("jobs.db"), configure));

    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(60_000)]
    public async Task JobClaimedAhead_IsRecordedAsStartedWhenItsHandlerRuns_AndARescuedOneBeforeItRuns(bool rescuedBefore, CancellationToken ct)
    {
        await using var queue = Open(o =>
        {
            o.Queues["default"] = 1;
            o.Prefetch = 4;
        });
        var blocker = (await queue.EnqueueAsync(new Echo(0), new JobOptions { Priority = 1 }, ct)).JobId;
        var ahead = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        if (rescuedBefore)
        {
            // Claimed ahead by a processor that died, then rescued by another: uncounted, and now suspect.
            var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow());
            await using var died = JobQueue.Open(TestOptions.For(Folder.File("jobs.db")), time);
            (await died.ClaimAsync("default", 2, startNow: 0)).Jobs.Should().HaveCount(2);
            time.Advance(died.Options.LeaseDuration + TimeSpan.FromSeconds(1));
            (await died.RescueExpiredAsync()).Should().Be((2, 0));
        }

        using var releaseBlocker = new SemaphoreSlim(0);
        var blockerRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aheadSawItsMark = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var releaseAhead = new SemaphoreSlim(0);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (e, _, _) =>
        {
            if (e.N == 0)
            {
                blockerRunning.TrySetResult();
                await releaseBlocker.WaitAsync(ct);
                return;
            }

            aheadSawItsMark.TrySetResult(JobRows.HandlerStarted(Folder.File("jobs.db"), ahead));
            await releaseAhead.WaitAsync(ct);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        await blockerRunning.Task.WaitAsync(ct);
        processor.HeldJobs.Should().Be(2, "one claim took both: the blocker to run, the other ahead");
        JobRows.HandlerStarted(Folder.File("jobs.db"), blocker).Should().Be(1, "it started at once: the claim recorded it");
        JobRows.HandlerStarted(Folder.File("jobs.db"), ahead).Should().Be(0, "it waits in the prefetch: a crash now does not count as its rescue");

        releaseBlocker.Release();
        var seen = await aheadSawItsMark.Task.WaitAsync(ct);
        if (rescuedBefore)
        {
            seen.Should().Be(1, "a job rescued before waits for its start mark to commit before its handler runs");
        }

        // Any write queued now commits after the mark, which was queued before the handler ran.
        await queue.Sqlite.ReadWriterPragmaAsync("user_version", durable: false);
        JobRows.HandlerStarted(Folder.File("jobs.db"), ahead).Should().Be(1);
        releaseAhead.Release();
        await reports.UntilAsync(ahead, JobOutcome.Succeeded, ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TransactionalEnqueue_OnAnotherFile_IsRefused()
    {
        await using var queue = Open();
        await using var connection = new SqliteConnection($"Data Source={Folder.File("other.db")};Pooling=false");
        connection.Open();
        using var transaction = connection.BeginTransaction();

        var enlist = () => queue.Enlist(transaction);

        enlist.Should().Throw<ArgumentException>().WithMessage("*same file*");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AFailedAttempt_LogsWhenItsRetryRuns_NotWhenItFailed(CancellationToken ct)
    {
        // Event 3005 logged the time of the failure as "retry at": a retry an hour later read as an immediate one.
        var logs = new Scheduling.RecordingLogs();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var queue = JobQueue.Open(TestOptions.For(Folder.File("jobs.db"), static o =>
        {
            o.RetryBaseDelay = TimeSpan.FromHours(1);
            o.RetryMaxDelay = TimeSpan.FromHours(1);
        }), TimeProvider.System, factory);
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 3 }, ct)).JobId;
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(static (_, _, _) => throw new InvalidOperationException("not yet")));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        await reports.UntilAsync(id, JobOutcome.Retrying, ct);
        await processor.StopAsync(ct);

        var job = (await queue.GetJobAsync(id, ct))!.Summary;
        var logged = logs.Entries.Where(static e => e.Id == 3005).Select(static e => e.Message).Should().ContainSingle().Subject;
        var retryAt = DateTimeOffset.Parse(logged[(logged.LastIndexOf("retry at ", StringComparison.Ordinal) + "retry at ".Length)..], System.Globalization.CultureInfo.InvariantCulture);
        (job.State, job.RunAt > job.StartedAt!.Value.AddMinutes(29)).Should().Be((JobState.Failed, true), "the retry waits at least half the delay");
        (retryAt - job.RunAt).Duration().Should().BeLessThan(TimeSpan.FromMinutes(1), "the log says when the store will run it (both by the system clock here)");
    }
}
