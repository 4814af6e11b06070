using Ladder.Jobs.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Tests;

/// <summary>The processor end to end, in real time. PollInterval is 30 s in these tests: quick results prove wake-ups.</summary>
public sealed class ProcessorTests : TempFolderTests
{
    private JobQueue Open(Action<LadderJobsOptions>? configure = null) => JobQueue.Open(TestOptions.For(Folder.File("jobs.db"), configure));

    [Test]
    [CancelAfter(60_000)]
    public async Task Processor_RunsEnqueuedJobWithItsArgsAndContext(CancellationToken ct)
    {
        await using var queue = Open();
        var seen = new TaskCompletionSource<(Echo Args, JobContext Context)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((args, context, _) =>
        {
            seen.TrySetResult((args, context));
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(42), cancellationToken: ct)).JobId;

        var (args, context) = await seen.Task.WaitAsync(ct);
        args.Should().Be(new Echo(42));
        context.Should().Match<JobContext>(c => c.JobId == id && c.Kind == "echo" && c.Queue == "default" && c.Attempt == 1 && c.MaxAttempts == 5);
        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Succeeded);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Processor_NeverRunsMoreThanItsConcurrency(CancellationToken ct)
    {
        await using var queue = Open(o => o.Queues["default"] = 3);
        int running = 0, peak = 0, done = 0;
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Yield();
            await Task.Delay(5, CancellationToken.None);
            Interlocked.Decrement(ref running);
            if (Interlocked.Increment(ref done) == 60)
            {
                allDone.TrySetResult();
            }
        }));
        await processor.StartAsync(ct);

        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 60).Select(i => JobRequest.For(new Echo(i)))], ct);

        await allDone.Task.WaitAsync(ct);
        peak.Should().BeInRange(1, 3);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Handler_ThrowingPermanentFailure_DeadAtOnceWithTheReason(CancellationToken ct)
    {
        await using var queue = Open();
        var runs = 0;
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) =>
        {
            Interlocked.Increment(ref runs);
            throw new JobPermanentFailureException("corrupt replay: bad header");
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;

        await reports.UntilAsync(id, JobOutcome.Dead, ct);
        runs.Should().Be(1);
        var job = (await queue.GetJobAsync(id, ct))!;
        job.Summary.State.Should().Be(JobState.Dead);
        job.Summary.LastError.Should().Contain("corrupt replay: bad header");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Handler_Throwing_RetriedUntilMaxAttemptsThenDead_AndRetryFromDeadRunsItAgain(CancellationToken ct)
    {
        await using var queue = Open();
        var runs = 0;
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, context, _) =>
        {
            Interlocked.Increment(ref runs);
            return context.Attempt <= 3 && context.MaxAttempts == 3 ? throw new InvalidOperationException($"attempt {context.Attempt}") : Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 3 }, ct)).JobId;

        (await reports.UntilAsync(id, JobOutcome.Dead, ct)).Should().Equal(JobOutcome.Retrying, JobOutcome.Retrying, JobOutcome.Dead);
        runs.Should().Be(3);
        (await queue.GetJobAsync(id, ct))!.Attempts.Select(a => a.ErrorMessage).Should().Equal("attempt 1", "attempt 2", "attempt 3");

        // Retry from dead: attempts reset; this handler fails on the first three attempts only when MaxAttempts is 3, so make it pass.
        await using (var connection = new SqliteConnection($"Data Source={queue.Options.Path};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE ladder_jobs SET max_attempts = 4 WHERE id = {id};";
            command.ExecuteNonQuery();
        }

        (await queue.RetryAsync(id, ct)).Should().BeTrue();
        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        (await queue.RetryAsync(id, ct)).Should().BeFalse("a succeeded job is not retried");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Job_WithCorruptPayload_DeadWithoutRetryLoop(CancellationToken ct)
    {
        await using var queue = Open();
        var runs = 0;
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) =>
        {
            Interlocked.Increment(ref runs);
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new JobRequest("echo", """{"n": "not a number"}"""), ct)).JobId;

        await reports.UntilAsync(id, JobOutcome.Dead, ct);
        runs.Should().Be(0);
        var job = (await queue.GetJobAsync(id, ct))!;
        job.Summary.Attempts.Should().Be(1);
        job.Summary.LastError.Should().StartWith("Ladder.Jobs.JobPayloadException: The payload of a 'echo' job is not a valid Echo");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Job_OfUnknownKind_RetriedThenDeadWithAClearError(CancellationToken ct)
    {
        await using var queue = Open();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new JobRequest("from-a-later-deploy", "{}", new JobOptions { MaxAttempts = 2 }), ct)).JobId;

        (await reports.UntilAsync(id, JobOutcome.Dead, ct)).Should().Equal(JobOutcome.Retrying, JobOutcome.Dead);
        (await queue.GetJobAsync(id, ct))!.Summary.LastError.Should().Be("Ladder.Jobs.UnknownJobKindException: No handler is registered for job kind 'from-a-later-deploy'.");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Job_PastItsTimeout_HandlerTokenCancelledAndAttemptFailed(CancellationToken ct)
    {
        await using var queue = Open();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, token) =>
        {
            await using var registration = token.Register(() => cancelled.TrySetResult());
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = TimeSpan.FromMilliseconds(200), MaxAttempts = 1 }, ct)).JobId;

        await cancelled.Task.WaitAsync(ct);
        await reports.UntilAsync(id, JobOutcome.Dead, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.LastError.Should().Be("Ladder.Jobs.JobTimeoutException: The job ran past its timeout of 00:00:00.2000000.");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Job_WhoseHandlerIgnoresItsTimeout_FreesItsSlotAfterTheGraceAndFailsWhenTheHandlerEnds(CancellationToken ct)
    {
        await using var queue = Open(o =>
        {
            o.TimeoutGrace = TimeSpan.FromMilliseconds(200);
            o.Queues["default"] = 1;
        });
        using var release = new SemaphoreSlim(0);
        var otherStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (args, _, _) =>
        {
            if (args.N == 2)
            {
                otherStarted.TrySetResult();
                return;
            }

            await release.WaitAsync(ct);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Timeout = TimeSpan.FromMilliseconds(200), MaxAttempts = 1 }, ct)).JobId;
        await queue.EnqueueAsync(new Echo(2), cancellationToken: ct);

        // The only slot was freed after the grace: the other job ran while the handler still ignores its timeout.
        await otherStarted.Task.WaitAsync(ct);
        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Running, "the job stays held until its handler ends");
        release.Release();
        await reports.UntilAsync(id, JobOutcome.Dead, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.LastError.Should().Contain("ignored cancellation");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Handler_Snoozing_RunsAgainLaterWithoutSpendingAnAttempt(CancellationToken ct)
    {
        await using var queue = Open();
        var attempts = new List<int>();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, context, _) =>
        {
            lock (attempts)
            {
                attempts.Add(context.Attempt);
                if (attempts.Count == 1)
                {
                    context.Snooze(TimeSpan.FromMilliseconds(100));
                }
            }

            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 1 }, ct)).JobId;

        (await reports.UntilAsync(id, JobOutcome.Succeeded, ct)).Should().Equal(JobOutcome.Snoozed, JobOutcome.Succeeded);
        attempts.Should().Equal(1, 1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Cancel_RunningJob_CancelsItsHandlerTokenAndKeepsItCancelled(CancellationToken ct)
    {
        await using var queue = Open();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, token) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        (await queue.CancelAsync(id, ct)).Should().BeTrue();

        await reports.UntilAsync(id, JobOutcome.LeaseLost, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Cancelled);
        (await queue.CancelAsync(id, ct)).Should().BeFalse("it is already finished");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Stop_LetsRunningJobFinishAndGivesBackUnstartedClaimsWithoutSpendingAnAttempt(CancellationToken ct)
    {
        await using var queue = Open(o =>
        {
            o.Queues["default"] = 1;
            o.Prefetch = 4;
            o.ShutdownGrace = TimeSpan.FromSeconds(30);
        });
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new SemaphoreSlim(0);
        var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) =>
        {
            started.TrySetResult();
            await release.WaitAsync(ct);
        }));
        await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 5).Select(i => JobRequest.For(new Echo(i)))], ct);
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        await started.Task.WaitAsync(ct);
        processor.HeldJobs.Should().Be(5, "one runs and four are claimed ahead");

        var stop = processor.StopAsync(ct);
        release.Release();
        await stop;
        await processor.DisposeAsync();

        var counts = (await queue.GetCountsAsync(ct)).ToDictionary(c => c.State, c => c.Count);
        counts.Should().Equal(new Dictionary<JobState, long> { [JobState.Succeeded] = 1, [JobState.Ready] = 4 });
        var ready = await queue.GetJobsAsync(JobState.Ready, cancellationToken: ct);
        ready.Jobs.Should().OnlyContain(j => j.Attempts == 0 && j.Rescues == 0);
    }

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
    public async Task Stop_WithHandlerIgnoringCancellation_ReturnsAfterTheGraceAndGivesTheJobBack(CancellationToken ct)
    {
        await using var queue = Open(o => o.ShutdownGrace = TimeSpan.FromMilliseconds(300));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var never = new SemaphoreSlim(0);
        var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (_, _, _) =>
        {
            started.TrySetResult();
            await never.WaitAsync(ct);
        }));
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await started.Task.WaitAsync(ct);

        await processor.StopAsync(ct);

        (await queue.GetJobAsync(id, ct))!.Summary.Should().Match<JobSummary>(j => j.State == JobState.Ready && j.Attempts == 0);
        never.Release();
        await processor.DisposeAsync();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Processor_WakesAtTheScheduledTime_NotAtThePollInterval(CancellationToken ct)
    {
        await using var queue = Open();
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) =>
        {
            ran.TrySetResult();
            return Task.CompletedTask;
        }));
        await processor.StartAsync(ct);
        var start = TimeProvider.System.GetTimestamp();

        await queue.EnqueueAsync(new Echo(1), new JobOptions { Delay = TimeSpan.FromMilliseconds(500) }, ct);

        await ran.Task.WaitAsync(ct);
        TimeProvider.System.GetElapsedTime(start).Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(450)).And.BeLessThan(TimeSpan.FromSeconds(20), "the poll interval is 30 s");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TransactionalEnqueue_Committed_RunsTheJobAtOnce(CancellationToken ct)
    {
        await using var queue = Open();
        var ran = new TaskCompletionSource<Echo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((args, _, _) =>
        {
            ran.TrySetResult(args);
            return Task.CompletedTask;
        }));
        await processor.StartAsync(ct);
        await using var connection = new SqliteConnection($"Data Source={queue.Options.Path};Pooling=false");
        connection.Open();
        Execute(connection, null, "CREATE TABLE replays(hash TEXT PRIMARY KEY);");

        using (var transaction = connection.BeginTransaction())
        using (var jobs = queue.Enlist(transaction))
        {
            Execute(connection, transaction, "INSERT INTO replays VALUES ('h1');");
            jobs.Enqueue(new Echo(5), new JobOptions { UniqueKey = "h1" }).Inserted.Should().BeTrue();
            jobs.Commit();
        }

        (await ran.Task.WaitAsync(ct)).Should().Be(new Echo(5));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TransactionalEnqueue_RolledBack_LeavesNoJobAndNoWakeUp(CancellationToken ct)
    {
        await using var queue = Open();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        await processor.StartAsync(ct);
        var wakeUps = 0;
        queue.JobsAvailable += _ => Interlocked.Increment(ref wakeUps);
        await using var connection = new SqliteConnection($"Data Source={queue.Options.Path};Pooling=false");
        connection.Open();
        Execute(connection, null, "CREATE TABLE replays(hash TEXT PRIMARY KEY);");

        using (var transaction = connection.BeginTransaction())
        using (var jobs = queue.Enlist(transaction))
        {
            Execute(connection, transaction, "INSERT INTO replays VALUES ('h1');");
            jobs.Enqueue(new Echo(5));
            transaction.Rollback();
        }

        (await queue.GetCountsAsync(ct)).Should().BeEmpty();
        wakeUps.Should().Be(0);
        using var check = connection.CreateCommand();
        check.CommandText = "SELECT count(*) FROM replays;";
        check.ExecuteScalar().Should().Be(0L);
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

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
