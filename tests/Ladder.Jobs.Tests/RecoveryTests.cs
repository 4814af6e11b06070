using Ladder.Jobs.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Tests;

/// <summary>Crashes, restarts, and several processes on one file.</summary>
public sealed class RecoveryTests : TempFolderTests
{
    [TestCase(1)]
    [TestCase(3)]
    [CancelAfter(60_000)]
    public async Task JobsEnqueued_QueueClosedBeforeRunning_NewInstanceRunsThemAll(int jobs, CancellationToken ct)
    {
        var path = Folder.File("jobs.db");
        await using (var first = JobQueue.Open(TestOptions.For(path)))
        {
            await first.EnqueueBatchAsync([.. Enumerable.Range(0, jobs).Select(i => JobRequest.For(new Echo(i)))], ct);
        }

        await using var second = JobQueue.Open(TestOptions.For(path));
        var ran = new System.Collections.Concurrent.ConcurrentBag<int>();
        await using var processor = new JobProcessor(second, new JobHandlerRegistry().Add<Echo>((e, _, _) =>
        {
            ran.Add(e.N);
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        await reports.CountAsync(JobOutcome.Succeeded, jobs, ct);
        ran.Should().BeEquivalentTo(Enumerable.Range(0, jobs));
    }

    [TestCase(1)]
    [TestCase(3)]
    [CancelAfter(60_000)]
    public async Task JobsRunning_WhenTheProcessDies_NewInstanceRescuesAndCompletesThem(int jobs, CancellationToken ct)
    {
        var path = Folder.File("jobs.db");
        var options = TestOptions.For(path, o =>
        {
            o.LeaseDuration = TimeSpan.FromMilliseconds(500);
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
            o.RescueInterval = TimeSpan.FromMilliseconds(100);
        });
        await using (var first = JobQueue.Open(options))
        {
            await first.EnqueueBatchAsync([.. Enumerable.Range(0, jobs).Select(i => JobRequest.For(new Echo(i)))], ct);
            // Claimed (state running) and then the "process" vanishes: no completion, no give-back, no heartbeat.
            (await first.ClaimAsync("default", jobs)).Jobs.Should().HaveCount(jobs);
        }

        await using var second = JobQueue.Open(options);
        var ran = new System.Collections.Concurrent.ConcurrentBag<int>();
        await using var processor = new JobProcessor(second, new JobHandlerRegistry().Add<Echo>((e, _, _) =>
        {
            ran.Add(e.N);
            return Task.CompletedTask;
        }));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);

        await reports.CountAsync(JobOutcome.Succeeded, jobs, ct);
        ran.Should().BeEquivalentTo(Enumerable.Range(0, jobs));
        (await second.GetJobsAsync(JobState.Succeeded, cancellationToken: ct)).Jobs.Should().OnlyContain(j => j.Rescues == 1 && j.Attempts == 1);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ChildKilledWithSigkill_AtRandomPoints_EveryJobSucceedsWithBoundedDuplicates(CancellationToken ct) =>
        await RunCrashScenarioAsync(jobs: 300, kills: 3, ct);

    [Test]
    [Category("Soak")]
    [CancelAfter(1_800_000)]
    public async Task Soak_ChildKilledWithSigkillManyTimes_EveryJobSucceedsWithBoundedDuplicates(CancellationToken ct)
    {
        var (jobs, kills) = Environment.GetEnvironmentVariable("LADDER_SOAK_SCALE") switch
        {
            "full" => (10_000, 20),
            _ => (3_000, 10), // "ci" (and any other value): about 30 s here.
        };
        await RunCrashScenarioAsync(jobs, kills, ct);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task TwoProcessesOnOneFile_NeverRunTheSameJob(CancellationToken ct)
    {
        var db = Folder.File("jobs.db");
        var runs = Folder.File("runs");
        const int Jobs = 400;
        // Gate: no handler runs before both processes have started, so both claim from the file side by side.
        using var a = CrashHost.Start(db, Jobs, runs, gate: 2);
        using var b = CrashHost.Start(db, Jobs, runs, gate: 2);

        (await a.WaitForRunsOrDoneAsync(int.MaxValue, ct)).Should().BeTrue();
        (await b.WaitForRunsOrDoneAsync(int.MaxValue, ct)).Should().BeTrue();
        (await a.WaitForExitAsync(ct)).Should().Be(0);
        (await b.WaitForExitAsync(ct)).Should().Be(0);

        var perProcess = Directory.GetFiles(Folder.Path, "runs.*").Where(f => !f.EndsWith(".started", StringComparison.Ordinal)).Select(f => File.ReadAllLines(f).Select(int.Parse).ToList()).ToList();
        var all = perProcess.SelectMany(r => r).ToList();
        all.Should().HaveCount(Jobs, "no crash happened, so every job ran exactly once across both processes");
        all.Should().OnlyHaveUniqueItems().And.BeEquivalentTo(Enumerable.Range(0, Jobs));
        TestContext.Progress.WriteLine($"runs per process: {string.Join(", ", perProcess.Select(p => p.Count))}");
        perProcess.Should().HaveCount(2).And.OnlyContain(p => p.Count > 0, "both processes ran jobs from the one file");
    }

    private async Task RunCrashScenarioAsync(int jobs, int kills, CancellationToken ct)
    {
        var db = Folder.File("jobs.db");
        var runs = Folder.File("runs");
        // CrashHost: concurrency 4 + prefetch 16 leases claimed and not finished, plus as many finished runs whose
        // outcome may not have committed yet (a finished handler frees its slot before its outcome commits).
        const int MaxHeldPerProcess = 2 * (4 + 16);
        var random = new Random(12345);
        var killed = 0;
        while (killed < kills)
        {
            using var host = CrashHost.Start(db, jobs, runs);
            var threshold = random.Next(1, Math.Max(2, jobs / kills));
            if (await host.WaitForRunsOrDoneAsync(threshold, ct))
            {
                break;
            }

            await host.KillAsync(ct);
            killed++;
        }

        using (var last = CrashHost.Start(db, jobs, runs))
        {
            (await last.WaitForRunsOrDoneAsync(int.MaxValue, ct)).Should().BeTrue();
            (await last.WaitForExitAsync(ct)).Should().Be(0);
        }

        var all = Directory.GetFiles(Folder.Path, "runs.*").SelectMany(File.ReadAllLines).Select(int.Parse).ToList();
        all.Distinct().Should().BeEquivalentTo(Enumerable.Range(0, jobs), "every job ran at least once");
        var duplicates = all.Count - jobs;
        TestContext.Progress.WriteLine($"{jobs} jobs, {killed} kills, {duplicates} duplicate runs");
        duplicates.Should().BeLessThanOrEqualTo(killed * MaxHeldPerProcess, "only jobs in flight at a kill may run twice");

        await using var queue = JobQueue.Open(TestOptions.For(db));
        (await queue.GetCountsAsync(ct)).Should().Equal(new QueueStateCount("default", JobState.Succeeded, jobs));
        await using var connection = new SqliteConnection($"Data Source={db};Pooling=false");
        connection.Open();
        using var check = connection.CreateCommand();
        check.CommandText = "PRAGMA integrity_check;";
        check.ExecuteScalar().Should().Be("ok");
    }
}
