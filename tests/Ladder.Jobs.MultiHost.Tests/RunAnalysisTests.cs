using Ladder.Jobs.MultiHost.Tests.Support;

namespace Ladder.Jobs.MultiHost.Tests;

/// <summary>The checker of the chaos runs finds each broken guarantee in logs written to break it.</summary>
public sealed class RunAnalysisTests
{
    private const long Second = 1_000_000_000;
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
