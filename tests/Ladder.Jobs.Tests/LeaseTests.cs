using Ladder.Jobs.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Tests;

/// <summary>The SQLite rows the lease protocol leaves (the protocol itself, on every store, is the contract suite's LeaseContract).</summary>
public sealed class LeaseTests : TempFolderTests
{
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp() => _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private JobQueue Open(Action<LadderJobsOptions>? configure = null) =>
        JobQueue.Open(TestOptions.For(Folder.File("jobs.db"), o =>
        {
            o.LeaseDuration = TimeSpan.FromSeconds(30);
            o.RetryBaseDelay = TimeSpan.FromSeconds(10);
            o.RetryMaxDelay = TimeSpan.FromMinutes(10);
            configure?.Invoke(o);
        }), _time);

    [Test]
    [CancelAfter(60_000)]
    public async Task LeavingRunning_SetsTheStartRecordBackToItsDefault()
    {
        // A process of schema version 1 sharing the file claims without setting handler_started: whatever a claim
        // ahead of this version left there must not make that process's runs uncounted.
        await using var queue = Open();
        var id = (await queue.EnqueueAsync(new Echo(1))).JobId;
        (await queue.GiveBackAsync((await queue.ClaimAsync("default", 1, startNow: 0)).Jobs.Single())).Should().BeTrue();
        var afterGiveBack = JobRows.HandlerStarted(Folder.File("jobs.db"), id);
        (await queue.ClaimAsync("default", 1, startNow: 0)).Jobs.Should().ContainSingle();
        _time.Advance(TimeSpan.FromSeconds(31));
        await queue.RescueExpiredAsync();
        var afterRelease = JobRows.HandlerStarted(Folder.File("jobs.db"), id);

        afterGiveBack.Should().Be(1);
        afterRelease.Should().Be(1);
        (await queue.GetJobAsync(id))!.Attempts.Should().ContainSingle().Which.Outcome.Should().Be("released");
    }
}
