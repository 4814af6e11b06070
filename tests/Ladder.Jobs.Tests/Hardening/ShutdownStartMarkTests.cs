using Ladder.Jobs.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Tests.Hardening;

public sealed class ShutdownStartMarkTests : TempFolderTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Stop_WhileAClaimedAheadJobWaitsForItsStartMarkPastTheGrace_GivesItBackAndNeverStartsItsHandler(CancellationToken ct)
    {
        await using var queue = JobQueue.Open(TestOptions.For(Folder.File("jobs.db"), o =>
        {
            o.Queues["default"] = 2;
            o.Prefetch = 4;
            o.ShutdownGrace = TimeSpan.FromMilliseconds(300);
        }));
        // B first (lowest id: the first a stop gives back), claimed last (lowest priority): claimed ahead.
        var b = (await queue.EnqueueAsync(new Echo(3), new JobOptions { Priority = -1 }, ct)).JobId;
        var a = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        await queue.EnqueueAsync(new Echo(2), cancellationToken: ct);
        // Rescued before its start was recorded: claimed ahead, its handler waits for its start mark to commit.
        TimerLimitTests.SetColumn(queue.Options.Path, b, "rescues_unstarted", 1);

        TaskCompletionSource Signal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
        var (aStarted, aInterrupted, xStarted, xGate, bAwaitingMark) = (Signal(), Signal(), Signal(), Signal(), Signal());
        var bRuns = 0;
        var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>(async (args, _, token) =>
        {
            switch (args.N)
            {
                case 1:
                    aStarted.TrySetResult();
                    try
                    {
                        await Task.Delay(Timeout.Infinite, token);
                    }
                    finally
                    {
                        aInterrupted.TrySetResult();
                    }

                    break;
                case 2:
                    xStarted.TrySetResult();
                    await xGate.Task;
                    break;
                default:
                    Interlocked.Increment(ref bRuns);
                    break;
            }
        }));
        processor.AwaitingStartMark += id =>
        {
            if (id == b)
            {
                bAwaitingMark.TrySetResult();
            }
        };

        await using var blocker = new SqliteConnection($"Data Source={queue.Options.Path};Pooling=false");
        blocker.Open();
        Task stop;
        try
        {
            await processor.StartAsync(ct);
            await Task.WhenAll(aStarted.Task, xStarted.Task).WaitAsync(ct);

            // Another connection takes the write lock: the start mark of the claimed-ahead job cannot commit.
            Execute(blocker, "BEGIN IMMEDIATE;");
            xGate.TrySetResult();
            await bAwaitingMark.Task.WaitAsync(ct);

            stop = processor.StopAsync(CancellationToken.None);
            await aInterrupted.Task.WaitAsync(ct); // Past the grace: shutdown interrupts and gives back what it holds.
        }
        finally
        {
            xGate.TrySetResult();
            if (blocker.State == System.Data.ConnectionState.Open)
            {
                Execute(blocker, "ROLLBACK;", ignoreErrors: true);
            }
        }

        await stop.WaitAsync(ct);
        await processor.WorkerLoops.WaitAsync(ct);
        await processor.DisposeAsync();

        bRuns.Should().Be(0, "its job was given back before its start mark committed");
        var job = (await queue.GetJobAsync(b, ct))!.Summary;
        job.State.Should().Be(JobState.Ready);
        job.Attempts.Should().Be(0);
        (await queue.GetJobAsync(a, ct))!.Summary.State.Should().Be(JobState.Ready);
    }

    private static void Execute(SqliteConnection connection, string sql, bool ignoreErrors = false)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        try
        {
            command.ExecuteNonQuery();
        }
        catch (SqliteException) when (ignoreErrors)
        {
            // No transaction open.
        }
    }
}

/// <summary>The ownership rule under the shutdown race, without timing: a run finished (given back) can never start.</summary>
public sealed class RunningJobTests
{
    [Test]
    public void TryStart_AfterTheRunWasFinished_FailsAndTheFinishHappensOnce()
    {
        var worker = new QueueWorker("default", concurrency: 1, prefetch: 0);
        var registry = new System.Collections.Concurrent.ConcurrentDictionary<long, RunningJob>();
        using var entry = new RunningJob(new ClaimedJob(new JobLease(1, 7), "default", "echo", "{}", 1, 5, 0, null, default, default, default, null, 0), worker, registry, CancellationToken.None);

        entry.TryFinish().Should().BeTrue("shutdown gives it back first");
        entry.TryStart().Should().BeFalse("a handler never starts after its job was given back");
        entry.TryFinish().Should().BeFalse();
    }

    [Test]
    public void Release_FreesTheRegistrationTheSlotAndThePermitOnce()
    {
        var worker = new QueueWorker("default", concurrency: 1, prefetch: 0);
        worker.Outstanding.Wait(0).Should().BeTrue();
        var registry = new System.Collections.Concurrent.ConcurrentDictionary<long, RunningJob>();
        var entry = new RunningJob(new ClaimedJob(new JobLease(1, 7), "default", "echo", "{}", 1, 5, 0, null, default, default, default, null, 0), worker, registry, CancellationToken.None);
        registry.Should().ContainKey(1);

        entry.ReleaseSlot();
        entry.Release();
        entry.Release();

        registry.Should().BeEmpty();
        worker.Outstanding.CurrentCount.Should().Be(1, "the permit is freed once");
    }
}
