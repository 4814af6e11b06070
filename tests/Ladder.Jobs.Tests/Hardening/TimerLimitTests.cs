using Ladder.Jobs.Tests.Support;
using Reports = Ladder.Jobs.Testing.Reports;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Tests.Hardening;

/// <summary>
/// Timer-backed values beyond what .NET timers take (~49.7 days), and exceptions at the start of a run: no value and
/// no exception may leave a run unfinished (heartbeated for ever, its slot and permit never freed). The options and a row
/// written by hand into the SQLite file; the runs on every store are the contract suite's TimerLimitContract.
/// </summary>
public sealed class TimerLimitTests : TempFolderTests
{
    private static readonly TimeSpan BeyondTimers = TimeSpan.FromDays(60);

    private JobQueue Open(Action<LadderJobsOptions>? configure = null) => JobQueue.Open(TestOptions.For(Folder.File("jobs.db"), configure));

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
            MaintenanceInterval = BeyondTimers,
        };

        var failures = options.Validate();

        foreach (var name in new[] { "LeaseDuration", "HeartbeatInterval", "RescueInterval", "PollInterval", "ShutdownGrace", "TimeoutGrace", "MaintenanceInterval" })
        {
            failures.Should().Contain(f => f.StartsWith(name, StringComparison.Ordinal), $"{name} is beyond the timer limit");
        }
    }

    [Test]
    public void LeaseDuration_UpToTwiceTheTimerLimit_IsValid_AndOneTickMore_IsNot()
    {
        // The lease is a time in the store; only its heartbeat, at most half of it, is a timer.
        LadderJobsOptions.MaxLeaseDuration.Should().Be(LadderJobsOptions.MaxTimerValue * 2);
        LadderJobsOptions.MaxLeaseDuration.TotalDays.Should().BeApproximately(99.4, 0.05, "as the README says");
        new LadderJobsOptions { Path = "jobs.db", LeaseDuration = LadderJobsOptions.MaxLeaseDuration, HeartbeatInterval = LadderJobsOptions.MaxTimerValue }
            .Validate().Should().BeEmpty();

        var beyond = new LadderJobsOptions { Path = "jobs.db", LeaseDuration = LadderJobsOptions.MaxLeaseDuration + TimeSpan.FromTicks(1), HeartbeatInterval = LadderJobsOptions.MaxTimerValue }.Validate();

        beyond.Should().ContainSingle().Which.Should().StartWith("LeaseDuration");
    }

    [Test]
    public void HeartbeatInterval_AtTheTimerLimit_IsValid_AndOneTickMore_IsNot()
    {
        LadderJobsOptions.MaxTimerValue.TotalDays.Should().BeApproximately(49.7, 0.05, "as the README says");
        var lease = LadderJobsOptions.MaxLeaseDuration;
        new LadderJobsOptions { Path = "jobs.db", LeaseDuration = lease, HeartbeatInterval = LadderJobsOptions.MaxTimerValue }.Validate().Should().BeEmpty();

        var beyond = new LadderJobsOptions { Path = "jobs.db", LeaseDuration = lease, HeartbeatInterval = LadderJobsOptions.MaxTimerValue + TimeSpan.FromTicks(1) }.Validate();

        beyond.Should().Contain(f => f.StartsWith("HeartbeatInterval must be at most", StringComparison.Ordinal));
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
