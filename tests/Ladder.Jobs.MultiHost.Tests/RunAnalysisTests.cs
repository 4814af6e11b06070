using Ladder.Jobs.MultiHost.Tests.Support;

namespace Ladder.Jobs.MultiHost.Tests;

/// <summary>The checker of the chaos runs finds each broken guarantee in logs written to break it.</summary>
public sealed class RunAnalysisTests
{
    private const long Second = 1_000_000_000;
    private const long Milli = 1_000_000;
    private string _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("ladder-chaos-check-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void JobCutByAKill_AndRunAgainAfterTheLease_IsACountedDuplicateWithItsRescueTime()
    {
        var record = Record(jobs: 2);
        var a = Host(record, "n1.1", "start n1.1 1 1 100", "end n1.1 1 1 110", "start n1.1 2 1 120");
        a.KillRequested = 130;
        a.Died = 131;
        Host(record, "n2.1", $"start n2.1 2 1 {130 + (5 * Second)}", $"end n2.1 2 1 {131 + (5 * Second)}");

        var analysis = RunAnalysis.Of(record);

        analysis.Violations.Should().BeEmpty();
        analysis.Duplicates.Should().Be(1);
        analysis.CutRuns.Should().Be(1);
        analysis.EndedNotCommitted.Should().Be(0);
        analysis.RescueTimes.Should().Equal(TimeSpan.FromSeconds(5));
        analysis.AfterKills.Should().Be(1);
        analysis.AfterLostLeases.Should().Be(0);
        analysis.Kills.Should().Equal((a, 1, 1));
    }

    [Test]
    public void JobRunAgainAfterItsLiveHostLoggedTheLostLease_IsAnAllowedDuplicate_ButOnlyTheRunItNamed()
    {
        var record = Record(jobs: 2);
        Host(record, "n1.1", "start n1.1 1 1 100", "end n1.1 1 1 110", "start n1.1 2 1 120", "end n1.1 2 1 130");
        Host(record, "n2.1", "start n2.1 1 1 200", "end n2.1 1 1 210", "start n2.1 2 1 220", "end n2.1 2 1 230");

        // As NodeProcess passes the console logger's two lines on (warning 3021's message as Ladder.Jobs writes it).
        record.Stderr.Enqueue("n1.1 (pid 7): warn: Ladder.Jobs.JobProcessor[3021]");
        record.Stderr.Enqueue("n1.1 (pid 7):       Job 1 (chaos-job, attempt 1) lost its lease while this process held it: the lease of 00:00:05 expired and another process rescued the job (this process was stalled or cut off from the store for longer); this run's outcome is not applied");
        record.Stderr.Enqueue("n2.1 (pid 8):       Job 2 (chaos-job, attempt 1) lost its lease while this process held it: the lease of 00:00:05 expired and another process rescued the job (this process was stalled or cut off from the store for longer); this run's outcome is not applied");

        var analysis = RunAnalysis.Of(record);

        analysis.AfterLostLeases.Should().Be(1, "job 1's run on n1.1 was named by n1.1");
        analysis.Violations.Should().ContainSingle("job 2's lost lease was named by n2.1, not by n1.1 that ran it first")
            .Which.Should().Contain("job 2 ran again on n2.1").And.Contain("never killed").And.Contain("logged no lost lease");
        analysis.Summary("test").Should().Contain("2 duplicates: 0 after kills").And.Contain("1 after a lost lease its live host logged (2 lost leases logged), 1 not allowed");
    }

    [Test]
    public void RerunAfterTwoLeases_WithAnotherNodeKilledMeanwhile_IsWithinTheChainedBound()
    {
        var record = Record(jobs: 1);
        var a = Host(record, "n1.1", "start n1.1 1 1 100");
        a.KillRequested = 100;
        a.Died = 101;
        // n2.1 ran nothing, but may have held the rescued job claimed ahead when it was killed.
        var b = Host(record, "n2.1");
        b.KillRequested = 100 + (5 * Second);
        b.Died = 101 + (5 * Second);
        Host(record, "n3.1", $"start n3.1 1 1 {100 + (20 * Second)}", $"end n3.1 1 1 {101 + (20 * Second)}");

        var analysis = RunAnalysis.Of(record);

        analysis.Violations.Should().BeEmpty("the bound is 15.5 s plus one lease and rescue interval (5.5 s) for the other kill");
        analysis.RescueTimes.Should().Equal(TimeSpan.FromSeconds(20));
        analysis.ChainedRescueTimes.Should().Equal(TimeSpan.FromSeconds(20));
    }

    [Test]
    public void RunStartingBeforeTheKilledHostsRunStopped_IsAConcurrentRun()
    {
        var record = Record(jobs: 1);
        var a = Host(record, "n1.1", "start n1.1 1 1 100");
        a.KillRequested = 200;
        a.Died = 210;
        Host(record, "n2.1", "start n2.1 1 1 205", "end n2.1 1 1 300");

        RunAnalysis.Of(record).Violations.Should().Contain(v => v.Contains("had not stopped", StringComparison.Ordinal));
    }

    [Test]
    public void JobRunTwiceOnLiveHosts_IsADuplicateWithNoKill()
    {
        var record = Record(jobs: 1);
        Host(record, "n1.1", "start n1.1 1 1 100", "end n1.1 1 1 110");
        Host(record, "n2.1", "start n2.1 1 1 200", "end n2.1 1 1 210");

        RunAnalysis.Of(record).Violations.Should().ContainSingle().Which.Should().Contain("never killed");
    }

    [Test]
    public void RerunLaterThanTheBound_AndRunsThatNeverEndOnALiveHost_AndJobsThatNeverRan_AreAllReported()
    {
        var record = Record(jobs: 3);
        var a = Host(record, "n1.1", "start n1.1 1 1 100");
        a.KillRequested = 100;
        a.Died = 101;
        Host(record, "n2.1", $"start n2.1 1 1 {100 + (16 * Second)}", $"end n2.1 1 1 {101 + (16 * Second)}", "start n2.1 2 1 300");

        var violations = RunAnalysis.Of(record).Violations;

        violations.Should().HaveCount(4);
        violations.Should().Contain(v => v.Contains("started again only 16.0 s later", StringComparison.Ordinal));
        violations.Should().Contain(v => v.Contains("job 2 started on n2.1 and never ended", StringComparison.Ordinal));
        violations.Should().Contain(v => v.Contains("job 2: its last run", StringComparison.Ordinal));
        violations.Should().Contain(v => v.Contains("job 3 never ran", StringComparison.Ordinal));
    }

    [Test]
    public void JobCutByAKill_RescuedByTheStoreWithinTheBound_IsSplitAtTheLeaseExpiryTheRescueAndTheClaim()
    {
        const long Kill = 100 * Second;
        var record = Record(jobs: 1);
        var a = Host(record, "n1.1", $"start n1.1 1 1 {Kill - Second}");
        a.KillRequested = Kill;
        a.Died = Kill + 1;
        a.LeasesAfterKill = new Dictionary<long, long> { [1] = Kill + (4_800 * Milli), [2] = Kill + (9 * Second) };
        a.LeasesReadAt = Kill + Second;
        Host(record, "n2.1", $"start n2.1 1 1 {Kill + (5_400 * Milli)}", $"end n2.1 1 1 {Kill + (5_500 * Milli)}");
        record.StoreJobs[1] = Details(1, claimedAt: Kill + (5_300 * Milli), ("rescued", Kill + (5_200 * Milli)));

        var analysis = RunAnalysis.Of(record);

        analysis.Violations.Should().BeEmpty();
        analysis.StoreRescueTimes.Should().Equal(TimeSpan.FromMilliseconds(5_200));
        var rerun = analysis.Reruns.Should().ContainSingle().Subject;
        rerun.ToExpiry.Should().Be(TimeSpan.FromMilliseconds(4_800));
        rerun.ExpiryToRescue.Should().Be(TimeSpan.FromMilliseconds(400));
        rerun.RescueToClaim.Should().Be(TimeSpan.FromMilliseconds(100));
        rerun.ClaimToStart.Should().Be(TimeSpan.FromMilliseconds(100));
        rerun.ToStart.Should().Be(TimeSpan.FromMilliseconds(5_400));
        analysis.Summary("test").Should().Contain("store rescue (kill to the store's rescue of the lease) p50 5.20 s, max 5.20 s over 1")
            .And.Contain("kill to lease expiry p50 4.80 s").And.Contain("rescue (kill to next start) p50 5.40 s");
    }

    [Test]
    public void StoreRescueLaterThanLeasePlusIntervalPlusTolerance_IsAViolation_EvenWhenTheNextStartIsWithinItsSlack()
    {
        const long Kill = 100 * Second;
        var record = Record(jobs: 1);
        var a = Host(record, "n1.1", $"start n1.1 1 1 {Kill - Second}");
        a.KillRequested = Kill;
        a.Died = Kill + 1;
        Host(record, "n2.1", $"start n2.1 1 1 {Kill + (7_100 * Milli)}", $"end n2.1 1 1 {Kill + (7_200 * Milli)}");
        record.StoreJobs[1] = Details(1, claimedAt: Kill + (7_050 * Milli), ("rescued", Kill + (7 * Second)));

        var analysis = RunAnalysis.Of(record);

        analysis.Violations.Should().ContainSingle("the next start is within lease + interval + its 10 s slack, the store's rescue is not within its 6.5 s")
            .Which.Should().Contain("job 1 cut by the kill of n1.1 was rescued by the store only 7.00 s later").And.Contain("bound: lease + rescue interval + tolerance 6.50 s");
        analysis.RescueTimes.Should().Equal(TimeSpan.FromMilliseconds(7_100));
    }

    [Test]
    public void StoreRescueLate_ByAsLongAsTheServerWasDownMeanwhile_IsAllowed_AndCountedApart()
    {
        const long Kill = 100 * Second;
        var record = Record(jobs: 1);
        var a = Host(record, "n1.1", $"start n1.1 1 1 {Kill - Second}");
        a.KillRequested = Kill;
        a.Died = Kill + 1;
        record.Disruptions.Add(("pg_ctl restart", Kill + (3 * Second), Kill + (6 * Second), "back after 3.0 s"));
        record.Disruptions.Add(("pg_terminate_backend", Kill + (20 * Second), Kill + (20 * Second), "3 backends terminated"));
        Host(record, "n2.1", $"start n2.1 1 1 {Kill + (8_100 * Milli)}", $"end n2.1 1 1 {Kill + (8_200 * Milli)}");
        record.StoreJobs[1] = Details(1, claimedAt: Kill + (8_050 * Milli), ("rescued", Kill + (8 * Second)));

        var analysis = RunAnalysis.Of(record);

        analysis.Violations.Should().BeEmpty("the bound is 6.5 s plus the 3 s the server was down");
        analysis.OutageRescueTimes.Should().Equal(TimeSpan.FromSeconds(8));
        analysis.Reruns.Single().Outage.Should().Be(TimeSpan.FromSeconds(3));
        analysis.Summary("test").Should().Contain("1 of them past the bound during an outage");
    }

    [Test]
    public void JobRescuedThenClaimedAheadByANodeKilledToo_IsMeasuredAtItsFirstRescue()
    {
        const long Kill = 100 * Second;
        var record = Record(jobs: 1);
        var a = Host(record, "n1.1", $"start n1.1 1 1 {Kill - Second}");
        a.KillRequested = Kill;
        a.Died = Kill + 1;
        var b = Host(record, "n2.1");
        b.KillRequested = Kill + (6 * Second);
        b.Died = Kill + (6 * Second) + 1;
        Host(record, "n3.1", $"start n3.1 1 1 {Kill + (11_600 * Milli)}", $"end n3.1 1 1 {Kill + (11_700 * Milli)}");
        record.StoreJobs[1] = Details(1, claimedAt: Kill + (11_500 * Milli), ("rescued", Kill + (5_200 * Milli)), ("released", Kill + (11_400 * Milli)));

        var analysis = RunAnalysis.Of(record);

        analysis.Violations.Should().BeEmpty();
        analysis.StoreRescueTimes.Should().Equal(TimeSpan.FromMilliseconds(5_200));
        analysis.Reruns.Single().Should().Match<Rerun>(r => r.OtherKills == 1 && r.ToClaim == TimeSpan.FromMilliseconds(11_500));
    }

    [Test]
    public void JobRunAgainAfterAKill_WithNoRescueInTheStore_IsAViolation()
    {
        const long Kill = 100 * Second;
        var record = Record(jobs: 1);
        var a = Host(record, "n1.1", $"start n1.1 1 1 {Kill - Second}");
        a.KillRequested = Kill;
        a.Died = Kill + 1;
        Host(record, "n2.1", $"start n2.1 1 1 {Kill + (5 * Second)}", $"end n2.1 1 1 {Kill + (5_100 * Milli)}");
        record.StoreJobs[1] = Details(1, claimedAt: Kill + (4_900 * Milli));

        var analysis = RunAnalysis.Of(record);

        analysis.Violations.Should().ContainSingle().Which.Should().Contain("the store recorded no rescue of it");
        analysis.Reruns.Single().ToRescue.Should().BeNull();
    }

    private static JobDetails Details(long id, long claimedAt, params (string Outcome, long At)[] attempts)
    {
        static DateTimeOffset T(long ns) => DateTimeOffset.UnixEpoch + TimeSpan.FromTicks(ns / 100);
        var summary = new JobSummary(id, "default", "chaos-job", JobState.Succeeded, 0, 1, 25, attempts.Count(a => a.Outcome == "rescued"), null,
            T(0), T(0), T(claimedAt), T(claimedAt + Second), null);
        return new JobDetails(summary, "{}", null, [.. attempts.Select(a => new JobAttempt(1, a.Outcome, T(0), T(a.At), null, "The lease expired.", null))]);
    }

    private static ChaosRecord Record(int jobs)
    {
        var record = new ChaosRecord(new ChaosPlan { Jobs = jobs, Kills = 1 }, seed: 1);
        record.JobIds.AddRange(Enumerable.Range(1, jobs).Select(i => (long)i));
        return record;
    }

    private Incarnation Host(ChaosRecord record, string name, params string[] lines)
    {
        var path = Path.Combine(_folder, name + ".log");
        File.WriteAllLines(path, lines);
        var host = new Incarnation(name, path, pid: 0);
        record.Incarnations.Add(host);
        return host;
    }
}
