using Ladder.Jobs.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Tests;

/// <summary>Crashes of real child processes on one file (restarts and sibling queues on every store are the contract suite's SiblingContract).</summary>
public sealed class RecoveryTests : TempFolderTests
{
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
        using var a = CrashHost.Start(db, Jobs, runs, ("gate", 2));
        using var b = CrashHost.Start(db, Jobs, runs, ("gate", 2));

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

    [Test]
    [CancelAfter(180_000)]
    public async Task PoisonJob_KillingItsProcessAtEveryRun_IsDeadAfterMaxRescues_AndTheJobsClaimedAheadAreNot(CancellationToken ct)
    {
        var db = Folder.File("jobs.db");
        var runs = Folder.File("runs");
        const int Jobs = 60, Poison = 0, MaxRescues = 2;
        // Concurrency 1: at each crash the poison job is the only one running, while up to 16 more sit claimed ahead
        // (prefetch 16). Counting those as rescues would dead-letter them with it. It is the first job, so no other
        // job has just finished with its outcome not yet committed when it kills the process.
        var settings = new[] { ("poison", Poison), ("concurrency", 1), ("max-rescues", MaxRescues) };
        var deaths = 0;
        var done = false;
        // Up to MaxRescues + 1 counted crashes, plus one a crash right at a claimed-ahead job's start may leave uncounted.
        while (!done && deaths <= MaxRescues + 2)
        {
            using var host = CrashHost.Start(db, Jobs, runs, settings);
            done = await host.WaitForDoneOrDeathAsync(ct);
            deaths += done ? 0 : 1;
        }

        done.Should().BeTrue($"the poison job is dead after at most {MaxRescues + 2} crashes (there were {deaths})");
        deaths.Should().BeGreaterThan(MaxRescues, "each counted crash is one rescue, and it is dead only past MaxRescues");
        await using var queue = JobQueue.Open(TestOptions.For(db));
        var dead = (await queue.GetJobsAsync(JobState.Dead, cancellationToken: ct)).Jobs;
        dead.Should().ContainSingle().Which.LastError.Should().StartWith($"Poison: its lease expired {MaxRescues + 1} times while its handler ran");
        var succeeded = (await queue.GetJobsAsync(JobState.Succeeded, pageSize: 1000, cancellationToken: ct)).Jobs;
        succeeded.Should().HaveCount(Jobs - 1).And.OnlyContain(j => j.Rescues == 0, "no job but the poison one was running at a crash");
        var released = 0;
        foreach (var job in succeeded)
        {
            released += (await queue.GetJobAsync(job.Id, ct))!.Attempts.Count(a => a.Outcome == "released");
        }

        TestContext.Progress.WriteLine($"{deaths} crashes; {released} releases of jobs claimed ahead and not started");
        released.Should().BeGreaterThan(0, "jobs were claimed ahead at the crashes, and given back uncounted");
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
